package app

import (
	"net/http"
	"net/url"
	"testing"
)

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

// TestTURNProxy: TURN over TCP or TLS takes the proxy the app's HTTP client takes for
// the same address.
func TestTURNProxy(t *testing.T) {
	proxyURL, _ := url.Parse("http://proxy.example:3128")
	tr := &http.Transport{Proxy: func(r *http.Request) (*url.URL, error) {
		if r.URL.Hostname() == "turn.example" {
			return proxyURL, nil
		}
		return nil, nil
	}}
	a := New(Config{HTTPClient: &http.Client{Transport: tr}})
	p := a.turnProxy()
	if got, err := p("turn.example:443"); err != nil || got != proxyURL {
		t.Errorf("turn.example: %v %v, want the proxy", got, err)
	}
	if got, err := p("127.0.0.1:3478"); err != nil || got != nil {
		t.Errorf("loopback: %v %v, want none", got, err)
	}
	if New(Config{HTTPClient: &http.Client{Transport: roundTripper(nil)}}).turnProxy() != nil {
		t.Error("a client without an http.Transport has no proxy to hand on")
	}
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
