package apidoc

import "testing"

// TestLiveExamplesValidate: every message example of api/asyncapi.yaml is valid for the
// way it goes, so that the document shows what really flows.
func TestLiveExamplesValidate(t *testing.T) {
	v, err := LoadLive()
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Examples) < 10 {
		t.Errorf("only %d examples", len(v.Examples))
	}
	for _, ex := range v.Examples {
		validate := v.ValidateClientMessage
		if ex.Server {
			validate = v.ValidateServerMessage
		}
		if err := validate(ex.Payload); err != nil {
			t.Errorf("example of %s: %v: %s", ex.Message, err, ex.Payload)
		}
	}
	// A signal of the wrong form is refused by the document too.
	for _, bad := range []string{
		`{"action":"signal","remoteId":"r-airjqervw6imh6nuv5y4fk3r2i","signal":{"kind":"offer"}}`,
		`{"action":"signal","remoteId":"jtxszy5e5zhefg6wi26ongmeze","signal":{"kind":"bye"}}`,
		`{"action":"signal","remoteId":"r-airjqervw6imh6nuv5y4fk3r2i","signal":{"kind":"bye","reason":"bored"}}`,
		`{"action":"signal","remoteId":"r-airjqervw6imh6nuv5y4fk3r2i","signal":{"kind":"candidate"}}`,
	} {
		if err := v.ValidateClientMessage([]byte(bad)); err == nil {
			t.Errorf("the document allows %s", bad)
		}
	}
}
