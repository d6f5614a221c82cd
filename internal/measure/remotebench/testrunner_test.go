package remotebench

import (
	"strings"
	"testing"
)

// TestRunTB: the runner collects errors, Fatal ends the body where it is called, a panic
// and a call the runner does not define become errors, and cleanups run last first after
// the body, whatever ended it.
func TestRunTB(t *testing.T) {
	tests := []struct {
		name string
		body func(tb testing.TB, reached *bool)
		want string // in the error; "" for none
	}{
		{"passes", func(tb testing.TB, reached *bool) { *reached = true }, ""},
		{"errors go on", func(tb testing.TB, reached *bool) { tb.Errorf("first %d", 1); *reached = true }, "first 1"},
		{"fatal stops", func(tb testing.TB, reached *bool) { tb.Fatal("stop"); *reached = true }, "stop"},
		{"panic", func(tb testing.TB, reached *bool) { panic("boom") }, "panic: boom"},
		{"undefined call", func(tb testing.TB, reached *bool) { tb.Skip("x") }, "panic:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var order []int
			reached := false
			err := runTB(func(tb testing.TB) {
				tb.Cleanup(func() { order = append(order, 1) })
				tb.Cleanup(func() { order = append(order, 2) })
				tt.body(tb, &reached)
			})
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("error %v, want none", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("error %v, want one with %q", err, tt.want)
			}
			if wantReached := tt.name == "passes" || tt.name == "errors go on"; reached != wantReached {
				t.Errorf("the body went on after the call: %v, want %v", reached, wantReached)
			}
			if len(order) != 2 || order[0] != 2 || order[1] != 1 {
				t.Errorf("cleanups ran %v, want [2 1]", order)
			}
		})
	}
}
