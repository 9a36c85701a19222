package testenv

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
)

// outcomeTB records how a helper ended the test instead of ending it.
type outcomeTB struct {
	testing.TB
	ended, msg string
}

func (o *outcomeTB) Helper() {}
func (o *outcomeTB) Fatalf(format string, args ...any) {
	o.ended, o.msg = "fatal", fmt.Sprintf(format, args...)
	runtime.Goexit()
}
func (o *outcomeTB) Skipf(format string, args ...any) {
	o.ended, o.msg = "skip", fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func TestNeed(t *testing.T) {
	tests := []struct {
		name, ci, value, want string
	}{
		{"missing outside CI", "", "", "skip"},
		{"missing under CI", "true", "", "fatal"},
		{"CI set to something else", "1", "", "skip"},
		{"present under CI", "true", "bolt://127.0.0.1:7687", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("CI", tt.ci)
			t.Setenv("MIROVERSE_TESTENV_PROBE", tt.value)
			o := &outcomeTB{TB: t}
			var got string
			done := make(chan struct{})
			go func() {
				defer close(done)
				got = Need(o, "MIROVERSE_TESTENV_PROBE", "start it with scripts/probe")
			}()
			<-done
			if o.ended != tt.want {
				t.Errorf("ended with %q (%s), want %q", o.ended, o.msg, tt.want)
			}
			if tt.want != "" && (!strings.Contains(o.msg, "MIROVERSE_TESTENV_PROBE") || !strings.Contains(o.msg, "scripts/probe")) {
				t.Errorf("message %q does not name the variable and how to set it", o.msg)
			}
			if tt.want == "" && got != tt.value {
				t.Errorf("Need = %q, want %q", got, tt.value)
			}
		})
	}
}
