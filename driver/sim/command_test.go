package sim

import (
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
		{[]string{"powershell", "-c", "exit 3"}, runsForever},
	}
	for _, tt := range tests {
		if got := behaviourOf(tt.argv); got != tt.want {
			t.Errorf("behaviourOf(%q) = %+v, want %+v", tt.argv, got, tt.want)
		}
	}
}
