package remote_test

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/adhoc-support/adhoc-support/agent/internal/testconsole"
	"github.com/adhoc-support/adhoc-support/agent/remote"
	"github.com/adhoc-support/adhoc-support/internal/protocol"
)

func TestPlanTransport(t *testing.T) {
	local := []protocol.ICEServer{{URLs: []string{"turn:127.0.0.1:3478?transport=udp", "turn:127.0.0.1:3478?transport=tcp"}, Username: "u", Credential: "c"}}
	kvs := []protocol.ICEServer{
		{URLs: []string{"stun:stun.kinesisvideo.eu-central-1.amazonaws.com:443"}},
		{URLs: []string{"turn:3-1-2-3.t-1.kinesisvideo.eu-central-1.amazonaws.com:443?transport=udp",
			"turns:3-1-2-3.t-1.kinesisvideo.eu-central-1.amazonaws.com:443?transport=udp",
			"turns:3-1-2-3.t-1.kinesisvideo.eu-central-1.amazonaws.com:443?transport=tcp"}, Username: "u", Credential: "c"},
	}
	tests := []struct {
		name      string
		servers   []protocol.ICEServer
		udp       bool
		urls      []string
		relayOnly bool
		loopback  bool
		err       bool
	}{
		{"local stack, UDP", local, true, local[0].URLs, false, true, false},
		{"local stack, no UDP (Wine)", local, false, []string{"turn:127.0.0.1:3478?transport=tcp"}, true, true, false},
		{"KVS, UDP", kvs, true, append(slices.Clone(kvs[0].URLs), kvs[1].URLs...), false, false, false},
		// turns: is TLS over TCP, whatever its transport parameter says.
		{"KVS, no UDP", kvs, false, kvs[1].URLs[1:], true, false, false},
		{"UDP only offered, no UDP", []protocol.ICEServer{{URLs: []string{"turn:127.0.0.1:3478?transport=udp", "stun:127.0.0.1:3478"}}}, false, nil, true, true, true},
		{"TURN without transport is UDP", []protocol.ICEServer{{URLs: []string{"turn:[::1]:3478"}}}, false, nil, true, false, true},
		{"localhost by name", []protocol.ICEServer{{URLs: []string{"turn:localhost:3478?transport=tcp"}}}, true, []string{"turn:localhost:3478?transport=tcp"}, false, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			urls, relayOnly, loopback, err := remote.PlanTransport(tt.servers, tt.udp)
			if (err != nil) != tt.err || !slices.Equal(urls, tt.urls) || relayOnly != tt.relayOnly || (!tt.err && loopback != tt.loopback) {
				t.Errorf("got %v relay only %v loopback %v err %v; want %v %v %v err %v", urls, relayOnly, loopback, err, tt.urls, tt.relayOnly, tt.loopback, tt.err)
			}
		})
	}
}

// TestSecret: the password decodes as encoding/json would decode the string, without
// ever becoming one.
func TestSecret(t *testing.T) {
	tests := []string{
		`"plain"`, `""`, `"a\"b\\c\/d"`, `"\b\f\n\r\t"`, `"\u00fc\u00DF"`, `"ünïcode 😀"`,
		`"\ud83d\ude00"`, `"lone \ud83d half"`, `"lone \ude00 low"`, `"\ud83d\u0041"`,
	}
	for _, raw := range tests {
		var want string
		if err := json.Unmarshal([]byte(raw), &want); err != nil {
			t.Fatalf("%s: %v", raw, err)
		}
		got, err := remote.UnmarshalSecret([]byte(raw))
		if err != nil || string(got) != want {
			t.Errorf("%s: %q, %v; want %q", raw, got, err, want)
		}
	}
	for _, bad := range []string{`plain`, `"unterminated`, `"bad \x escape"`, `"\u12"`, "\"control \x01\"", `"trailing \"`, `42`} {
		if _, err := remote.UnmarshalSecret([]byte(bad)); err == nil {
			t.Errorf("%s: accepted", bad)
		}
	}
	// Inside a login message, as the terminal decodes it.
	var m struct {
		Type     string          `json:"type"`
		Password json.RawMessage `json:"password"`
	}
	if err := json.Unmarshal([]byte(`{"type":"login","password":"x\"y","cols":1}`), &m); err != nil {
		t.Fatal(err)
	}
	if got, err := remote.UnmarshalSecret(m.Password); err != nil || string(got) != `x"y` {
		t.Errorf("from a message: %q %v", got, err)
	}
}

func TestValidName(t *testing.T) {
	for name, want := range map[string]bool{
		"a.txt": true, "Bericht März 2026.pdf": true, ".hidden": true, "no-extension": true,
		"": false, ".": false, "..": false, "a/b": false, `a\b`: false, "C:a": false, "a?": false, "a*": false,
		`"q"`: false, "a<b": false, "a|b": false, "tab\there": false, "dot.": false, "space ": false,
		"CON": false, "con.txt": false, "Lpt1.log": false, "nul": false, "COM10": true, "console.txt": true,
	} {
		if got := remote.ValidName(name); got != want {
			t.Errorf("validName(%q) = %v, want %v", name, got, want)
		}
	}
}

// TestConsoleSpeaksTheSameFlowControl: the test console's back-pressure is the app's.
func TestConsoleSpeaksTheSameFlowControl(t *testing.T) {
	if testconsole.HighWater != remote.HighWater || testconsole.LowWater != remote.LowWater || testconsole.ChunkSize != remote.ChunkSize {
		t.Errorf("test console %d/%d/%d, app %d/%d/%d", testconsole.HighWater, testconsole.LowWater, testconsole.ChunkSize,
			remote.HighWater, remote.LowWater, remote.ChunkSize)
	}
}
