package sim

import (
	"slices"
	"time"
)

// StartProcess starts container id of owner ("" for any owner) as Start
// does, with command as its init process instead of the command given at
// Create (nil keeps that one). HCS starts a compute system and creates its
// init process in two calls; the fake HCS of driver/hcs acts out the
// second with this.
func (m *Model) StartProcess(owner, id string, command []string) error {
	return m.update(func(s *state, now time.Time) error {
		r, err := s.lookup("CreateProcess", owner, id)
		if err != nil {
			return err
		}
		old := r.Command
		if command != nil {
			r.Command = slices.Clone(command)
		}
		if err := s.start(owner, id, now); err != nil {
			r.Command = old
			return err
		}
		return nil
	})
}
