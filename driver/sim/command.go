package sim

import (
	"fmt"
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

// behaviourOf tells how argv ends; scriptOf tells what it prints too.
func behaviourOf(argv []string) behaviour { return scriptOf(argv).behaviour }

// Line is one line a command prints, At after it started.
type Line struct {
	At     time.Duration
	Stderr bool
	Text   string
}

// script is what a command the sim knows does: how it ends, and what it
// prints on the way.
type script struct {
	behaviour
	// lines are printed at their At.
	lines []Line
	// repeat is printed every `every` from repeatFrom on, count times (no
	// end when count is 0), with %d in its text the repetition from 1.
	repeat     *Line
	repeatFrom time.Duration
	every      time.Duration
	count      int
	// footer is printed at the command's own exit, not when it is
	// stopped or killed first.
	footer []string
}

// Between returns the lines the command prints in [from, to), in order,
// and, when its own exit falls in that span, its footer.
func (s script) between(from, to time.Duration) []Line {
	var out []Line
	for _, l := range s.lines {
		if l.At >= from && l.At < to {
			out = append(out, l)
		}
	}
	if s.repeat != nil && s.every > 0 {
		k := 0
		if from > s.repeatFrom {
			k = int((from - s.repeatFrom + s.every - 1) / s.every)
		}
		for ; s.count == 0 || k < s.count; k++ {
			at := s.repeatFrom + time.Duration(k)*s.every
			if at >= to {
				break
			}
			if at >= from {
				out = append(out, Line{At: at, Stderr: s.repeat.Stderr, Text: strings.ReplaceAll(s.repeat.Text, "%d", strconv.Itoa(k+1))})
			}
		}
	}
	if s.exits && s.after >= from && s.after < to {
		for _, f := range s.footer {
			out = append(out, Line{At: s.after, Text: f})
		}
	}
	return out
}

// next returns when, after at, the command next prints or ends; ok is
// false when it never does.
func (s script) next(at time.Duration) (time.Duration, bool) {
	best, ok := time.Duration(0), false
	consider := func(t time.Duration) {
		if t > at && (!ok || t < best) {
			best, ok = t, true
		}
	}
	for _, l := range s.lines {
		consider(l.At)
	}
	if s.repeat != nil && s.every > 0 {
		k := 0
		if at >= s.repeatFrom {
			k = int((at-s.repeatFrom)/s.every) + 1
		}
		if s.count == 0 || k < s.count {
			consider(s.repeatFrom + time.Duration(k)*s.every)
		}
	}
	if s.exits {
		consider(s.after)
	}
	return best, ok
}

// scriptOf tells what argv does. The sim knows a few commands, matched
// case-insensitively whatever path and ".exe" suffix they carry:
//
//	cmd /c exit N         exits N at once (also "exit /b N"; N defaults to 0)
//	cmd /c echo TEXT      prints TEXT and exits 0; commands joined with & or
//	                      && run in turn ("echo failing & exit 3"), and
//	                      "for /l %i in (A,S,B) do @echo TEXT %i" prints a
//	                      line per value
//	ping -n K HOST        prints a reply a second and exits 0 after K
//	                      seconds with ping's statistics (ping -t runs until
//	                      stopped; without -n, ping's default of 4 echoes)
//	timeout /t K          exits 0 after K seconds (K of -1 waits forever)
//	powershell -c SCRIPT  runs Write-Output/Write-Host/echo TEXT (stdout),
//	                      Write-Error TEXT (stderr) and exit N, separated
//	                      by ';' (also pwsh, -Command)
//	simserve [PORT ...]   prints that it listens and runs until stopped,
//	                      answering probes as servingOf says
//	cmd /c <one of these> the same as the command itself
//
// Everything else, including cmd without /c (the usual image default),
// prints nothing and runs until stopped.
func scriptOf(argv []string) script {
	if len(argv) == 0 {
		return script{}
	}
	args := argv[1:]
	switch program(argv[0]) {
	case "cmd":
		for i, a := range args {
			if strings.EqualFold(a, "/c") || strings.EqualFold(a, "/k") {
				// cmd joins the rest into one command line, so
				// `cmd /c "exit 3"` and `cmd /c exit 3` agree.
				return cmdLine(strings.Join(args[i+1:], " "))
			}
		}
	case "ping":
		return pingScript(args)
	case "timeout":
		for i := 0; i+1 < len(args); i++ {
			if strings.EqualFold(args[i], "/t") || strings.EqualFold(args[i], "-t") {
				k, err := strconv.Atoi(args[i+1])
				if err != nil || k < 0 {
					return script{}
				}
				return script{behaviour: behaviour{exits: true, after: time.Duration(k) * time.Second}}
			}
		}
	case "simserve":
		sv, _ := servingOf(argv)
		ports := make([]string, len(sv.ports))
		for i, p := range sv.ports {
			ports[i] = strconv.Itoa(p)
		}
		return script{lines: []Line{{Text: "simserve: listening on port " + strings.Join(ports, ", ")}}}
	case "powershell", "pwsh":
		for i, a := range args {
			switch strings.ToLower(strings.TrimLeft(a, "-/")) {
			case "c", "command":
				return powershellScript(strings.Join(args[i+1:], " "))
			}
		}
	}
	return script{}
}

// cmdLine acts out one cmd command line: its commands, joined with & or
// &&, in turn.
func cmdLine(line string) script {
	line = strings.TrimSpace(strings.ReplaceAll(line, `"`, ""))
	var s script
	for _, c := range splitCommands(line) {
		words := strings.Fields(c)
		if len(words) == 0 {
			continue
		}
		switch {
		case strings.EqualFold(words[0], "exit"):
			s.behaviour = exitBehaviour(words[1:])
			return s
		case strings.EqualFold(strings.TrimPrefix(words[0], "@"), "echo") || strings.HasPrefix(strings.ToLower(words[0]), "echo."):
			s.lines = append(s.lines, Line{Text: echoText(c)})
		case strings.EqualFold(words[0], "for"):
			s.lines = append(s.lines, forLoop(c)...)
		default:
			// Another program: it decides how the line ends.
			sub := scriptOf(words)
			sub.lines = append(s.lines, sub.lines...)
			return sub
		}
	}
	s.exits = true
	return s
}

// splitCommands splits a cmd line at & and &&.
func splitCommands(line string) []string {
	var out []string
	for _, part := range strings.Split(line, "&") {
		if p := strings.TrimSpace(part); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// echoText is what cmd's echo prints for command c (echo, @echo, echo.).
func echoText(c string) string {
	c = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(c), "@"))
	if len(c) > 4 && c[4] == '.' {
		return strings.TrimSpace(c[5:])
	}
	if len(c) > 5 {
		return c[5:]
	}
	return "ECHO is on."
}

// forLoop acts out "for /l %i in (start,step,end) do [@]echo TEXT": a line
// per value, %i replaced. Anything else prints nothing.
func forLoop(c string) []Line {
	var v string
	var start, step, end int
	words := strings.Fields(c)
	if len(words) < 6 || !strings.EqualFold(words[1], "/l") || !strings.EqualFold(words[3], "in") {
		return nil
	}
	v = words[2]
	if _, err := fmt.Sscanf(words[4], "(%d,%d,%d)", &start, &step, &end); err != nil || step == 0 {
		return nil
	}
	i := strings.Index(strings.ToLower(c), " do ")
	if i < 0 {
		return nil
	}
	body := strings.TrimSpace(c[i+4:])
	bw := strings.Fields(body)
	if len(bw) == 0 || !strings.EqualFold(strings.TrimPrefix(bw[0], "@"), "echo") {
		return nil
	}
	var out []Line
	for k := start; (step > 0 && k <= end) || (step < 0 && k >= end); k += step {
		out = append(out, Line{Text: strings.ReplaceAll(echoText(body), v, strconv.Itoa(k))})
		if len(out) >= 10_000_000 {
			break
		}
	}
	return out
}

// pingScript acts out ping's echoes: a reply a second, then statistics.
func pingScript(args []string) script {
	n, forever, host := 4, false, ""
	for i := 0; i < len(args); i++ {
		switch strings.ToLower(args[i]) {
		case "-t", "/t":
			forever = true
		case "-n", "/n":
			if i+1 < len(args) {
				if k, err := strconv.Atoi(args[i+1]); err == nil && k > 0 {
					n = k
				}
				i++
			}
		default:
			if !strings.HasPrefix(args[i], "-") && !strings.HasPrefix(args[i], "/") {
				host = args[i]
			}
		}
	}
	addr := "127.0.0.1"
	if strings.EqualFold(host, "localhost") {
		addr = "::1"
	}
	s := script{
		lines:  []Line{{Text: ""}, {Text: fmt.Sprintf("Pinging %s [%s] with 32 bytes of data:", host, addr)}},
		repeat: &Line{Text: fmt.Sprintf("Reply from %s: time<1ms", addr)},
		every:  time.Second,
	}
	if host == "" {
		s.lines = []Line{{Text: "IP address must be specified."}}
		s.repeat = nil
		s.behaviour = behaviour{exits: true, code: 1}
		return s
	}
	if forever {
		return s
	}
	s.count = n
	s.behaviour = behaviour{exits: true, after: time.Duration(n) * time.Second}
	s.footer = []string{"", fmt.Sprintf("Ping statistics for %s:", addr),
		fmt.Sprintf("    Packets: Sent = %d, Received = %d, Lost = 0 (0%% loss),", n, n)}
	return s
}

// powershellScript acts out a PowerShell -Command script of output
// statements and exit.
func powershellScript(src string) script {
	var s script
	for _, stmt := range strings.Split(src, ";") {
		stmt = strings.TrimSpace(stmt)
		name, rest, _ := strings.Cut(stmt, " ")
		text := strings.Trim(strings.TrimSpace(rest), `'"`)
		switch strings.ToLower(name) {
		case "":
		case "write-output", "write-host", "echo":
			s.lines = append(s.lines, Line{Text: text})
		case "write-error":
			s.lines = append(s.lines, Line{Stderr: true, Text: text})
		case "exit":
			s.behaviour = exitBehaviour(strings.Fields(rest))
			return s
		default:
			// A cmdlet the sim does not know: PowerShell says so and
			// goes on.
			s.lines = append(s.lines, Line{Stderr: true, Text: fmt.Sprintf("%s : The term '%s' is not recognized as a name of a cmdlet, function, script file, or executable program.", name, name)})
		}
	}
	s.exits = true
	return s
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
