package stack

import (
	"fmt"
	"os"

	"github.com/adhoc-support/adhoc-support/internal/release"
)

// Context keys of the Windows app's upload (read by infra/main.go).
const (
	// CtxAPIURL is the URL the deployment's Windows app must talk to: the ApiUrl output
	// (or the distribution's URL, PublicUrl, with the rate limit in front). The stack
	// learns it only from its first deployment, so until it is set an app build is
	// refused and the first deployment goes without one.
	CtxAPIURL = "apiUrl"
	// CtxAgentSigningCA is the PEM file of the root the app's signatures must chain to;
	// unset, the system's trusted roots.
	CtxAgentSigningCA = "agentSigningCa"
	// CtxAgentTimestampCA is the PEM file of the root a release's RFC 3161 timestamps must
	// chain to (SIGNING_TSA_CA of `make agent`); unset, osslsigncode's default.
	CtxAgentTimestampCA = "agentTimestampCa"
)

// AppCheck is what a build folder must be to be uploaded to this deployment.
type AppCheck struct {
	// ServerURL is the stack's API URL (CtxAPIURL).
	ServerURL string
	// SigningCA is CtxAgentSigningCA, TimestampCA CtxAgentTimestampCA.
	SigningCA, TimestampCA string
	// SessionHours is the deployment's session length: the app must not end sessions
	// sooner.
	SessionHours int
}

// CheckApp refuses to upload a build folder that is not a release for this deployment (see
// release.Check): a development build (which talks plain HTTP to localhost and reads the
// ADHOC_* variables), a build for another URL, or exes whose signatures do not verify or are
// not the manifest's signer's. A missing or empty folder is no build at all: nothing to
// check, nothing uploaded.
func CheckApp(dir string, want AppCheck) (uploaded bool, err error) {
	entries, err := os.ReadDir(dir)
	if os.IsNotExist(err) || (err == nil && len(entries) == 0) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("the Windows app build %s: %w", dir, err)
	}
	if _, err := release.Check(dir, release.Expect{ServerURL: want.ServerURL, CAFile: want.SigningCA, TSACAFile: want.TimestampCA, SessionHours: want.SessionHours}); err != nil {
		return false, fmt.Errorf("the Windows app build is not uploaded: %w", err)
	}
	return true, nil
}
