package sim

import (
	"fmt"
	"testing"
	"time"
)

func TestBehaviourOfCommands(t *testing.T) {
	tests := []struct {
		argv []string
		want behaviour
	}{
		{nil, runsForever},
		{[]string{`c:\windows\system32\cmd.exe`}, runsForever},
		{[]string{"cmd", "/c", "exit", "3"}, behaviour{exits: true, code: 3}},
		{[]string{"cmd", "/c", "exit 3"}, behaviour{exits: true, code: 3}},
		{[]string{`C:\Windows\System32\CMD.EXE`, "/C", `"exit 7"`}, behaviour{exits: true, code: 7}},
		{[]string{"cmd.exe", "/c", "exit", "/b", "2"}, behaviour{exits: true, code: 2}},
		{[]string{"cmd", "/c", "exit"}, behaviour{exits: true}},
		{[]string{"cmd", "/c", "exit", "-1"}, behaviour{exits: true, code: -1}},
		{[]string{"ping", "-n", "5", "localhost"}, behaviour{exits: true, after: 5 * time.Second}},
		{[]string{"PING.EXE", "/n", "2", "127.0.0.1"}, behaviour{exits: true, after: 2 * time.Second}},
		{[]string{"ping", "localhost"}, behaviour{exits: true, after: 4 * time.Second}},
		{[]string{"ping", "-t", "localhost"}, runsForever},
		{[]string{"timeout", "/t", "30"}, behaviour{exits: true, after: 30 * time.Second}},
		{[]string{"timeout", "/t", "10", "/nobreak"}, behaviour{exits: true, after: 10 * time.Second}},
		{[]string{"timeout", "/t", "-1"}, runsForever},
		{[]string{"cmd", "/c", "ping -n 3 localhost"}, behaviour{exits: true, after: 3 * time.Second}},
		{[]string{"cmd", "/c", "timeout", "/t", "1"}, behaviour{exits: true, after: time.Second}},
		{[]string{`C:\ServiceMonitor.exe`, "w3svc"}, runsForever},
		{[]string{"powershell", "-c", "exit 3"}, behaviour{exits: true, code: 3}},
		{[]string{"cmd", "/c", "echo hello"}, behaviour{exits: true}},
		{[]string{"cmd", "/c", "echo failing & exit 3"}, behaviour{exits: true, code: 3}},
		{[]string{"pwsh", "-Command", "Write-Output hi; exit 4"}, behaviour{exits: true, code: 4}},
	}
	for _, tt := range tests {
		if got := behaviourOf(tt.argv); got != tt.want {
			t.Errorf("behaviourOf(%q) = %+v, want %+v", tt.argv, got, tt.want)
		}
	}
}

func TestScriptsPrintWhatTheCommandsPrint(t *testing.T) {
	type line struct {
		at     time.Duration
		stderr bool
		text   string
	}
	tests := []struct {
		argv     []string
		from, to time.Duration
		want     []line
	}{
		{[]string{"cmd", "/c", "echo hello world"}, 0, time.Hour, []line{{0, false, "hello world"}}},
		{[]string{"cmd", "/c", `"echo failing & exit 3"`}, 0, time.Hour, []line{{0, false, "failing"}}},
		{[]string{"cmd", "/c", "echo one && echo. && @echo two"}, 0, time.Hour, []line{{0, false, "one"}, {0, false, ""}, {0, false, "two"}}},
		{[]string{"cmd", "/c", "for /l %i in (1,1,3) do @echo line %i"}, 0, time.Hour, []line{{0, false, "line 1"}, {0, false, "line 2"}, {0, false, "line 3"}}},
		{[]string{"powershell", "-c", "Write-Output 'a b'; Write-Error oops; exit 2"}, 0, time.Hour, []line{{0, false, "a b"}, {0, true, "oops"}}},
		{[]string{"ping", "-n", "3", "localhost"}, 0, time.Hour, []line{
			{0, false, ""}, {0, false, "Pinging localhost [::1] with 32 bytes of data:"},
			{0, false, "Reply from ::1: time<1ms"}, {time.Second, false, "Reply from ::1: time<1ms"}, {2 * time.Second, false, "Reply from ::1: time<1ms"},
			{3 * time.Second, false, ""}, {3 * time.Second, false, "Ping statistics for ::1:"},
			{3 * time.Second, false, "    Packets: Sent = 3, Received = 3, Lost = 0 (0% loss),"},
		}},
		// A span of a run: the lines printed in it, and no statistics
		// before the end.
		{[]string{"ping", "-t", "10.0.0.1"}, 1500 * time.Millisecond, 4 * time.Second, []line{
			{2 * time.Second, false, "Reply from 127.0.0.1: time<1ms"}, {3 * time.Second, false, "Reply from 127.0.0.1: time<1ms"},
		}},
		{[]string{`C:\ServiceMonitor.exe`, "w3svc"}, 0, time.Hour, nil},
	}
	for _, tt := range tests {
		var got []line
		for _, l := range scriptOf(tt.argv).between(tt.from, tt.to) {
			got = append(got, line{l.At, l.Stderr, l.Text})
		}
		if fmt.Sprint(got) != fmt.Sprint(tt.want) {
			t.Errorf("%q prints %v in [%s, %s), want %v", tt.argv, got, tt.from, tt.to, tt.want)
		}
	}
	s := scriptOf([]string{"ping", "-n", "2", "localhost"})
	for _, tt := range []struct {
		at, next time.Duration
		ok       bool
	}{{0, time.Second, true}, {time.Second, 2 * time.Second, true}, {2 * time.Second, 0, false}} {
		if next, ok := s.next(tt.at); next != tt.next || ok != tt.ok {
			t.Errorf("next(%s) = %s, %v; want %s, %v", tt.at, next, ok, tt.next, tt.ok)
		}
	}
}
