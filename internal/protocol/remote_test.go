package protocol

import (
	"context"
	"encoding/json"
	"reflect"
	"testing"
)

func TestRemoteEnded(t *testing.T) {
	c, got := stub(t, 204, "", "")
	req := RemoteEndedRequest{RemoteID: "r-abc", Reason: RemotePasswordAttempts, Channels: []string{ChannelTerminal, ChannelFiles},
		DurationMs: 12345, BytesToPC: 1, BytesFromPC: 2}
	if err := c.RemoteEnded(context.Background(), "agent-token", req); err != nil {
		t.Fatal(err)
	}
	if len(*got) != 1 {
		t.Fatalf("%d requests, want 1", len(*got))
	}
	r := (*got)[0]
	want := map[string]any{"remoteId": "r-abc", "reason": "password_attempts", "channels": []any{"terminal", "files"},
		"durationMs": 12345.0, "bytesToPc": 1.0, "bytesFromPc": 2.0}
	if r.path != "/v1/agent/remote/ended" || r.auth != "Bearer agent-token" || !reflect.DeepEqual(r.body, want) {
		t.Errorf("request %s %s %v, want the body %v", r.path, r.auth, r.body, want)
	}
}

// TestSignalJSON: the signals as remote-protocol's examples write them, both ways.
func TestSignalJSON(t *testing.T) {
	mid, idx, ufrag := "0", uint16(0), "abcd"
	tests := []struct {
		name string
		sig  Signal
		json string
	}{
		{"offer", Signal{Kind: SignalOffer, SDP: "v=0\r\n"}, `{"kind":"offer","sdp":"v=0\r\n"}`},
		{"answer", Signal{Kind: SignalAnswer, SDP: "v=0\r\n"}, `{"kind":"answer","sdp":"v=0\r\n"}`},
		{"candidate", Signal{Kind: SignalCandidate, Candidate: &ICECandidate{Candidate: "candidate:1 1 udp 1 127.0.0.1 5000 typ host", SDPMid: &mid, SDPMLineIndex: &idx, UsernameFragment: &ufrag}},
			`{"kind":"candidate","candidate":{"candidate":"candidate:1 1 udp 1 127.0.0.1 5000 typ host","sdpMid":"0","sdpMLineIndex":0,"usernameFragment":"abcd"}}`},
		{"end of candidates", Signal{Kind: SignalCandidate}, `{"kind":"candidate","candidate":null}`},
		{"bye", Signal{Kind: SignalBye, Reason: RemoteSessionEnded}, `{"kind":"bye","reason":"session_ended"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, err := json.Marshal(tt.sig)
			if err != nil {
				t.Fatal(err)
			}
			if string(data) != tt.json {
				t.Errorf("marshal: %s, want %s", data, tt.json)
			}
			var back Signal
			if err := json.Unmarshal([]byte(tt.json), &back); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(back, tt.sig) {
				t.Errorf("unmarshal: %+v, want %+v", back, tt.sig)
			}
		})
	}
	// Inside the app's action, too.
	data, err := json.Marshal(SignalAction{Action: ActionSignal, RemoteID: "r-1", Signal: Signal{Kind: SignalCandidate}})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"action":"signal","remoteId":"r-1","signal":{"kind":"candidate","candidate":null}}`; string(data) != want {
		t.Errorf("action: %s, want %s", data, want)
	}
}
