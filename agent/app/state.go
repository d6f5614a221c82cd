package app

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// Phase is where a session stands on this PC.
type Phase string

// Phases of the state file. The app writes the next phase before it acts on it, so that a
// crash at any point leaves a state that says what to finish.
const (
	// PhaseSetup: paired, the account and the service are being set up.
	PhaseSetup Phase = "setup"
	// PhaseActive: set up, the service holds the live connection and polls.
	PhaseActive Phase = "active"
	// PhaseCleanup: the session is over; what is left is being removed.
	PhaseCleanup Phase = "cleanup"
)

// Reasons a clean-up starts, as written to the state and the event log.
const (
	ReasonExpired     = "expired"         // the server said the session expired
	ReasonEnded       = "ended"           // the technician ended it
	ReasonEndedByUser = "ended_by_user"   // the person chose "end session and remove app"
	ReasonLocalExpiry = "expires_at"      // the app's own clock passed expiresAt
	ReasonUnknown     = "unknown_session" // the server no longer knows the agent token
	ReasonSetupFailed = "setup_failed"    // setting up failed halfway
)

// State is what the app keeps on disk while a session exists. It never holds the account's
// password. The agent token is in it so that the service can poll after a reboot; the file
// lives in the program folder, which only administrators and the system can read.
type State struct {
	Phase      Phase     `json:"phase"`
	ServerURL  string    `json:"serverUrl"`
	SessionID  string    `json:"sessionId"`
	AgentToken string    `json:"agentToken"`
	ExpiresAt  time.Time `json:"expiresAt"`
	Interval   int       `json:"interval"`
	// LiveURL is where the service opens its live connection (the pair answer's liveUrl,
	// then the latest poll answer's); "" when the deployment has none.
	LiveURL string `json:"liveUrl,omitempty"`
	// Proxy is the proxy URL found in the person's session at pairing, "" for none.
	Proxy string `json:"proxy,omitempty"`
	// Account is the hidden account's name; AccountOwned is set just before the app
	// creates it, so that the app deletes only an account it made.
	Account      string `json:"account"`
	AccountOwned bool   `json:"accountOwned"`
	AccountSID   string `json:"accountSid,omitempty"`
	// Exe is the app's copy in the program folder, which the service runs.
	Exe string `json:"exe,omitempty"`
	// Download is the file the person started; it goes at clean-up too.
	Download        string `json:"download,omitempty"`
	EndReason       string `json:"endReason,omitempty"`
	RemovedReported bool   `json:"removedReported,omitempty"`
}

// StateStore keeps the State across crashes and reboots.
type StateStore interface {
	// Load returns nil, nil when there is no state.
	Load() (*State, error)
	Save(*State) error
	// Delete removes the state; deleting what is not there is not an error.
	Delete() error
}

// FileStore keeps the state as a JSON file. The folder must exist: on Windows it is the
// program folder, made with an access list that keeps other users out.
type FileStore struct {
	Path string
}

// Load reads the state file.
func (f FileStore) Load() (*State, error) {
	data, err := os.ReadFile(f.Path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read state: %w", err)
	}
	var st State
	if err := json.Unmarshal(data, &st); err != nil {
		return nil, fmt.Errorf("decode state %s: %w", f.Path, err)
	}
	return &st, nil
}

// Save replaces the state file atomically: a crash leaves the old or the new state, never
// half of one.
func (f FileStore) Save(st *State) error {
	data, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return fmt.Errorf("encode state: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(f.Path), ".state-*.tmp")
	if err != nil {
		return fmt.Errorf("save state: %w", err)
	}
	_, werr := tmp.Write(data)
	serr := tmp.Sync()
	cerr := tmp.Close()
	if err := errors.Join(werr, serr, cerr); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("save state: %w", err)
	}
	if err := os.Rename(tmp.Name(), f.Path); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("save state: %w", err)
	}
	return nil
}

// Delete removes the state file.
func (f FileStore) Delete() error {
	if err := os.Remove(f.Path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("delete state: %w", err)
	}
	return nil
}
