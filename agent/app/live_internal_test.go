package app

import "testing"

func TestCheckLiveURL(t *testing.T) {
	tests := []struct {
		url         string
		development bool
		ok          bool
	}{
		{"wss://abc123.execute-api.eu-central-1.amazonaws.com/live", false, true},
		{"wss://abc123.execute-api.eu-central-1.amazonaws.com/live", true, true},
		// The handshake carries the agent token: plain text only to this machine, and only
		// in a development build.
		{"ws://localhost:8080/live", true, true},
		{"ws://127.0.0.1:8080/live", true, true},
		{"ws://[::1]:8080/live", true, true},
		{"ws://localhost:8080/live", false, false},
		{"ws://support.example.com/live", true, false},
		{"https://support.example.com/live", false, false},
		{"wss:///live", false, false},
		{"not a url", true, false},
	}
	for _, tt := range tests {
		err := checkLiveURL(tt.url, tt.development)
		if (err == nil) != tt.ok {
			t.Errorf("checkLiveURL(%q, development %v) = %v, want ok %v", tt.url, tt.development, err, tt.ok)
		}
	}
}
