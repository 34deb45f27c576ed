package sim

import (
	"strconv"
	"strings"
	"time"
)

// behaviour is what a container's init process does once started, as far
// as the sim acts it out.
type behaviour struct {
	exits bool          // false: runs until stopped or killed
	after time.Duration // how long after start it exits
	code  int           // its exit code
}

var runsForever = behaviour{}

// behaviourOf tells what argv does. The sim knows a few commands, matched
// case-insensitively whatever path and ".exe" suffix they carry:
//
//	cmd /c exit N         exits N at once (also "exit /b N"; N defaults to 0)
//	ping -n K ...         exits 0 after K seconds (ping -t runs until stopped;
//	                      without -n, ping's default of 4 echoes)
//	timeout /t K          exits 0 after K seconds (K of -1 waits forever)
//	cmd /c <one of these> the same as the command itself
//
// Everything else, including cmd without /c (the usual image default),
// runs until stopped.
func behaviourOf(argv []string) behaviour {
	if len(argv) == 0 {
		return runsForever
	}
	args := argv[1:]
	switch program(argv[0]) {
	case "cmd":
		for i, a := range args {
			if strings.EqualFold(a, "/c") || strings.EqualFold(a, "/k") {
				// cmd joins the rest into one command line, so
				// `cmd /c "exit 3"` and `cmd /c exit 3` agree.
				line := strings.Join(args[i+1:], " ")
				words := strings.Fields(strings.ReplaceAll(line, `"`, ""))
				if len(words) > 0 && strings.EqualFold(words[0], "exit") {
					return exitBehaviour(words[1:])
				}
				return behaviourOf(words)
			}
		}
	case "ping":
		n := 4
		for i := 0; i < len(args); i++ {
			switch strings.ToLower(args[i]) {
			case "-t", "/t":
				return runsForever
			case "-n", "/n":
				if i+1 < len(args) {
					if k, err := strconv.Atoi(args[i+1]); err == nil && k > 0 {
						n = k
					}
					i++
				}
			}
		}
		return behaviour{exits: true, after: time.Duration(n) * time.Second}
	case "timeout":
		for i := 0; i+1 < len(args); i++ {
			if strings.EqualFold(args[i], "/t") || strings.EqualFold(args[i], "-t") {
				k, err := strconv.Atoi(args[i+1])
				if err != nil || k < 0 {
					return runsForever
				}
				return behaviour{exits: true, after: time.Duration(k) * time.Second}
			}
		}
	}
	return runsForever
}

// exitBehaviour acts out cmd's built-in exit with its arguments.
func exitBehaviour(args []string) behaviour {
	if len(args) > 0 && strings.EqualFold(args[0], "/b") {
		args = args[1:]
	}
	code := 0
	if len(args) > 0 {
		if n, err := strconv.ParseInt(args[0], 10, 32); err == nil {
			code = int(n)
		}
	}
	return behaviour{exits: true, code: code}
}

// program returns the lower-case base name of a Windows executable path
// without ".exe": `C:\Windows\System32\CMD.EXE` gives "cmd".
func program(path string) string {
	if i := strings.LastIndexAny(path, `\/`); i >= 0 {
		path = path[i+1:]
	}
	path = strings.ToLower(path)
	return strings.TrimSuffix(path, ".exe")
}
