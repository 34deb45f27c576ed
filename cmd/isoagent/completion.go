package main

import (
	"bytes"
	"fmt"
	"io"
	"sort"
	"strings"
)

const completionUsage = `usage: isoagent completion bash|powershell

Prints the shell completion script of isoagent: commands, the
subcommands of sim and service, and each command's flags. Load it with

  bash:        source <(isoagent completion bash)
               (or save it as /etc/bash_completion.d/isoagent)
  PowerShell:  isoagent completion powershell | Out-String | Invoke-Expression
               (add that line to $PROFILE to keep it)

The script asks isoagent itself what to complete, so it stays right when
isoagent is upgraded.
`

// completeCommand is the hidden command the completion scripts call with
// the words typed so far (not the one being completed); it prints the
// candidates, one per line.
const completeCommand = "__complete"

func runCompletion(args []string, stdout, stderr io.Writer) int {
	if len(args) == 1 && (args[0] == "-h" || args[0] == "--help") {
		fmt.Fprint(stderr, completionUsage)
		return exitOK
	}
	if len(args) != 1 {
		fmt.Fprint(stderr, completionUsage)
		return exitUsage
	}
	switch args[0] {
	case "bash":
		fmt.Fprint(stdout, bashCompletion)
	case "powershell", "pwsh":
		fmt.Fprint(stdout, powershellCompletion)
	default:
		msg := fmt.Sprintf("isoagent completion: unknown shell %q", args[0])
		if s := closestName(args[0], []string{"bash", "powershell"}); s != "" {
			msg += fmt.Sprintf("; did you mean %s?", s)
		}
		fmt.Fprintln(stderr, msg+"; want bash or powershell")
		return exitUsage
	}
	return exitOK
}

const bashCompletion = `# bash completion for isoagent: source <(isoagent completion bash)
_isoagent() {
    local cur=${COMP_WORDS[COMP_CWORD]}
    local IFS=$'\n'
    COMPREPLY=($(compgen -W "$("${COMP_WORDS[0]}" __complete "${COMP_WORDS[@]:1:COMP_CWORD-1}" 2>/dev/null)" -- "$cur"))
}
complete -o default -F _isoagent isoagent
`

const powershellCompletion = `# PowerShell completion for isoagent:
#   isoagent completion powershell | Out-String | Invoke-Expression
Register-ArgumentCompleter -Native -CommandName isoagent, isoagent.exe -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)
    $exe = $commandAst.CommandElements[0].ToString()
    $words = @($commandAst.CommandElements | Select-Object -Skip 1 | ForEach-Object { $_.ToString() })
    if ($wordToComplete -ne '' -and $words.Count -gt 0) {
        $words = @($words | Select-Object -First ($words.Count - 1))
    }
    & $exe __complete @words 2>$null | Where-Object { $_ -like "$wordToComplete*" } | ForEach-Object {
        [System.Management.Automation.CompletionResult]::new($_, $_, 'ParameterValue', $_)
    }
}
`

// subcommands are the second words of the commands that have them.
func subcommands(cmd string) []string {
	switch cmd {
	case "sim":
		var s []string
		for name := range simCommands() {
			s = append(s, name)
		}
		sort.Strings(s)
		return s
	case "service":
		return []string{"install", "start", "stop", "status", "uninstall"}
	case "completion":
		return []string{"bash", "powershell"}
	}
	return nil
}

// hasFlagsHook reports whether cmd's flag parsing answers
// completeFlagsArg.
func hasFlagsHook(cmd string) bool {
	switch cmd {
	case "run", "plan", "validate", "status", "wait", "prune", "sim":
		return true
	}
	return false
}

// commandFlags returns the flags of cmd (with sub, the subcommand of sim)
// as "--name" and whether each takes a value.
func commandFlags(cmd, sub string) map[string]bool {
	if !hasFlagsHook(cmd) || (cmd == "sim" && sub == "") {
		return nil
	}
	var c command
	for _, cc := range commands() {
		if cc.name == cmd {
			c = cc
		}
	}
	args := []string{completeFlagsArg}
	if sub != "" {
		args = []string{sub, completeFlagsArg}
	}
	var out bytes.Buffer
	c.run(args, io.Discard, &out)
	flags := map[string]bool{}
	for line := range strings.Lines(out.String()) {
		name, kind, ok := strings.Cut(strings.TrimSpace(line), " ")
		if ok && strings.HasPrefix(name, "--") && (kind == "bool" || kind == "value") {
			flags[name] = kind == "value"
		}
	}
	return flags
}

// runComplete prints the candidates for the word after words: commands
// first, then a subcommand, then the command's flags; nothing after a
// flag that takes a value, so that the shell completes file names.
func runComplete(words []string, stdout, stderr io.Writer) int {
	if len(words) == 0 {
		for _, c := range commands() {
			fmt.Fprintln(stdout, c.name)
		}
		fmt.Fprintln(stdout, "--version")
		fmt.Fprintln(stdout, "--help")
		return exitOK
	}
	cmd, rest := words[0], words[1:]
	var sub string
	for _, w := range rest {
		if !strings.HasPrefix(w, "-") && sub == "" && subcommands(cmd) != nil {
			sub = w
		}
	}
	flags := commandFlags(cmd, sub)
	if len(rest) > 0 {
		if takesValue, ok := flags[rest[len(rest)-1]]; ok && takesValue {
			return exitOK
		}
	}
	if sub == "" {
		for _, s := range subcommands(cmd) {
			fmt.Fprintln(stdout, s)
		}
	}
	names := make([]string, 0, len(flags))
	for n := range flags {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintln(stdout, n)
	}
	return exitOK
}
