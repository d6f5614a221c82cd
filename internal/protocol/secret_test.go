package protocol

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
)

// chunkedBody hands the answer out a few bytes per Read and keeps every buffer it was
// given to fill: the client's own buffers, whatever they are.
type chunkedBody struct {
	r     io.Reader
	given [][]byte
}

func (b *chunkedBody) Read(p []byte) (int, error) {
	b.given = append(b.given, p)
	return b.r.Read(p[:min(len(p), 97)])
}

func (b *chunkedBody) Close() error { return nil }

type roundTrip func(*http.Request) (*http.Response, error)

func (f roundTrip) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestPairAnswerLeavesNoCopy: the pair answer holds the hidden account's password. The
// client decodes it into a Secret, never a string, and wipes every buffer it read the
// answer into, also those it outgrew on the way (the answer here is larger than the
// first buffer and its length unknown); once the app wipes the Secret, no byte of the
// password is left in anything the client made. It asks for an uncompressed answer,
// since net/http would decompress into buffers of its own.
func TestPairAnswerLeavesNoCopy(t *testing.T) {
	const password = "Corr3ct-Horse-Battery-\u00e4"
	for _, size := range []int64{-1, 0} { // length unknown, and given by Content-Length
		t.Run(fmt.Sprintf("content length %d", size), func(t *testing.T) {
			answer := `{"agentToken":"at","sessionId":"s1","expiresAt":"2030-01-02T03:04:05Z","liveUrl":"wss://x/` + strings.Repeat("l", 3000) +
				`","account":{"username":"AdHocRemoteUser","password":"Corr3ct-Horse-Battery-\u00e4"},"interval":30}`
			body := &chunkedBody{r: strings.NewReader(answer)}
			c := NewClient("https://support.example.com", &http.Client{Transport: roundTrip(func(r *http.Request) (*http.Response, error) {
				if got := r.Header.Get("Accept-Encoding"); got != "identity" {
					t.Errorf("Accept-Encoding %q, want identity", got)
				}
				length := size
				if length == 0 {
					length = int64(len(answer))
				}
				return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"application/json"}}, Body: body, ContentLength: length, Request: r}, nil
			})})
			pr, err := c.Pair(context.Background(), PairRequest{InviteToken: tok, SecurityCode: "123456789", Platform: PlatformWindows, Hostname: "PC", MachineID: "m", Nonce: "8f14e45fceea167a5a36dedd4bea2543"})
			if err != nil {
				t.Fatal(err)
			}
			if string(pr.Account.Password) != password {
				t.Fatalf("password %q", pr.Account.Password)
			}
			if len(body.given) < 2 {
				t.Fatalf("the answer was read in %d calls: the test would prove nothing", len(body.given))
			}
			for i, p := range body.given {
				if !allZero(p[:cap(p)]) {
					t.Errorf("read buffer %d (%d bytes) still holds the answer: %q…", i, cap(p), bytes.TrimRight(p[:min(cap(p), 80)], "\x00"))
				}
			}
			if s := fmt.Sprintf("%v %+v %#v", pr, pr.Account, pr.Account); strings.Contains(s, "Horse") {
				t.Errorf("formatting the answer shows the password: %s", s)
			}
			pw := pr.Account.Password
			pw.Wipe()
			if !allZero(pw) {
				t.Error("Wipe left bytes of the password")
			}
		})
	}
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// TestSecretJSON: a Secret is written as the JSON string it holds and read back into
// bytes as encoding/json would read the string.
func TestSecretJSON(t *testing.T) {
	for _, pw := range []string{"plain", `q"uote\back/slash`, "tab\tnew\nline", "ünïcode 😀", "<html>&"} {
		raw, err := json.Marshal(HiddenAccount{Username: "u", Password: Secret(pw)})
		if err != nil {
			t.Fatal(err)
		}
		var asString struct{ Password string }
		if err := json.Unmarshal(raw, &asString); err != nil || asString.Password != pw {
			t.Errorf("%q marshals to %s, which reads back as %q, %v", pw, raw, asString.Password, err)
		}
		var back HiddenAccount
		if err := json.Unmarshal(raw, &back); err != nil || string(back.Password) != pw {
			t.Errorf("%q: read back %q, %v", pw, back.Password, err)
		}
	}
	var h HiddenAccount
	if err := json.Unmarshal([]byte(`{"password":42}`), &h); err == nil {
		t.Error("a number decoded as a password")
	}
}
