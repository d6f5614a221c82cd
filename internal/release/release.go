// Package release is the Windows app's release manifest: `make agent` writes it next to the
// signed exes (cmd/agentrelease), and the CDK app checks it before it uploads the folder
// (infra/stack.CheckApp), so that a deployment cannot ship a development build, a build for
// another server, or an exe whose signature does not verify.
//
// The manifest names the version, the server URL the exes carry, the most a session may
// last on the PC, the signer's certificate and the SHA-256 of every file beside it. Check
// believes none of it on its own: it hashes the files, verifies each exe's Authenticode
// signature with osslsigncode against the trusted roots, and compares the certificate that
// signed it with the manifest's signer.
package release

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"math/big"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
)

// ManifestFile is the manifest's name inside the build folder.
const ManifestFile = "release.json"

// DefaultMaxSessionHours is how long the app lets a session last on the PC, whatever the
// server answers, unless the build says otherwise (DESIGN.md: 24 hours from activation).
const DefaultMaxSessionHours = 24

// Manifest describes one build folder of the Windows app.
type Manifest struct {
	Version string `json:"version"`
	// Development is a -dev build: it talks plain HTTP to this machine, reads the ADHOC_*
	// variables and carries the test hooks. Never deployed.
	Development bool `json:"development"`
	// ServerURL is the API's base URL compiled into the exes.
	ServerURL string `json:"serverUrl"`
	// MaxSessionHours is compiled into the exes too: the app ends a session on the PC at
	// most this long after pairing (plus a few minutes for clocks that differ), whatever the
	// server says.
	MaxSessionHours int    `json:"maxSessionHours"`
	Signer          Signer `json:"signer"`
	// TimestampURL is the RFC 3161 server that countersigned the signatures, "" for none.
	TimestampURL string `json:"timestampUrl,omitempty"`
	// Files are the SHA-256 (hex) of every file in the folder but the manifest, by path
	// relative to it with forward slashes.
	Files map[string]string `json:"files"`
}

// Signer is the certificate the exes are signed with.
type Signer struct {
	Subject string `json:"subject"`
	SHA256  string `json:"sha256"` // of the certificate's DER encoding, hex
}

// IsDevelopment reports whether a version is a development one: "dev" or "…-dev", the rule
// of the app (agent/main_windows.go) and of the Makefile (AGENT_DEV).
func IsDevelopment(version string) bool {
	return version == "dev" || strings.HasSuffix(version, "-dev")
}

// SignerOf reads a PEM certificate (the first one in the file) as a manifest's signer.
func SignerOf(certPEM []byte) (Signer, error) {
	for {
		var b *pem.Block
		b, certPEM = pem.Decode(certPEM)
		if b == nil {
			return Signer{}, errors.New("no PEM certificate found")
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return Signer{}, fmt.Errorf("signing certificate: %w", err)
		}
		return signerOfCert(c), nil
	}
}

func signerOfCert(c *x509.Certificate) Signer {
	sum := sha256.Sum256(c.Raw)
	return Signer{Subject: c.Subject.String(), SHA256: hex.EncodeToString(sum[:])}
}

// Write hashes every file in dir and writes m with them as dir/ManifestFile. Development is
// set from the version, whatever m says.
func Write(dir string, m Manifest) error {
	files, err := hashFiles(dir)
	if err != nil {
		return err
	}
	m.Files = files
	m.Development = m.Development || IsDevelopment(m.Version)
	raw, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("release manifest: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, ManifestFile), append(raw, '\n'), 0o644); err != nil {
		return fmt.Errorf("release manifest: %w", err)
	}
	return nil
}

// Read reads dir/ManifestFile.
func Read(dir string) (Manifest, error) {
	var m Manifest
	raw, err := os.ReadFile(filepath.Join(dir, ManifestFile))
	if err != nil {
		return m, fmt.Errorf("release manifest: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return m, fmt.Errorf("release manifest %s: %w", filepath.Join(dir, ManifestFile), err)
	}
	return m, nil
}

// Expect is what the deployment needs of the build.
type Expect struct {
	// ServerURL is the URL the stack's API answers on (its ApiUrl output); the exes must
	// carry exactly this one. Required: an app for an unknown URL is refused.
	ServerURL string
	// SessionHours is the deployment's session length; the build must allow at least that.
	SessionHours int
	// CAFile is the PEM file of the roots the signatures must chain to; "" is osslsigncode's
	// default, the system's trusted roots.
	CAFile string
	// TSACAFile is the PEM file of the roots a timestamp must chain to; "" is
	// osslsigncode's default. Checked only when the manifest names a time-stamp server.
	TSACAFile string
}

// Check refuses a build folder that is not a release for this deployment: no manifest, a
// development version, another or a plain-HTTP server URL, a shorter session cap, a file
// that is not listed or differs from its hash, an exe whose signature does not verify or
// that another certificate signed. It returns the manifest it checked.
func Check(dir string, want Expect) (Manifest, error) {
	m, err := Read(dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return m, fmt.Errorf("%s holds no %s: not a release build of `make agent` (a test build before the split into dist/agent-dev?); "+
				"remove the folder or build a release: make agent AGENT_VERSION=<x.y.z> AGENT_SERVER_URL=<ApiUrl>", dir, ManifestFile)
		}
		return m, err
	}
	if m.Development || IsDevelopment(m.Version) {
		return m, fmt.Errorf("%s: version %q is a development build: it talks plain HTTP to this machine and carries test hooks; build a release (AGENT_VERSION without -dev)", dir, m.Version)
	}
	if err := checkServerURL(m.ServerURL, want.ServerURL); err != nil {
		return m, fmt.Errorf("%s: %w", dir, err)
	}
	if want.SessionHours > 0 && m.MaxSessionHours < want.SessionHours {
		return m, fmt.Errorf("%s: the app ends a session after %d h at most, the deployment's sessions last %d h: build it with AGENT_MAX_SESSION_HOURS=%d",
			dir, m.MaxSessionHours, want.SessionHours, want.SessionHours)
	}
	files, err := hashFiles(dir)
	if err != nil {
		return m, err
	}
	for name, sum := range files {
		listed, ok := m.Files[name]
		switch {
		case !ok:
			return m, fmt.Errorf("%s: %s is not in the release manifest (left over from another build?)", dir, name)
		case listed != sum:
			return m, fmt.Errorf("%s: %s has changed since `make agent` listed it (SHA-256 %s, manifest %s)", dir, name, sum, listed)
		}
	}
	exes := 0
	for _, name := range slices.Sorted(maps.Keys(m.Files)) {
		if _, ok := files[name]; !ok {
			return m, fmt.Errorf("%s: %s is in the release manifest but missing", dir, name)
		}
		if !strings.EqualFold(filepath.Ext(name), ".exe") {
			continue
		}
		exes++
		exe := filepath.Join(dir, filepath.FromSlash(name))
		if err := VerifySignature(exe, want.CAFile, m.Signer); err != nil {
			return m, fmt.Errorf("%s: %w", dir, err)
		}
		if m.TimestampURL != "" {
			if err := verifyTimestamp(exe, want.CAFile, want.TSACAFile); err != nil {
				return m, fmt.Errorf("%s: %w", dir, err)
			}
		}
	}
	if exes == 0 {
		return m, fmt.Errorf("%s: the release manifest lists no exe", dir)
	}
	return m, nil
}

// checkServerURL: the app's URL must be https, a bare origin, and the deployment's.
func checkServerURL(got, want string) error {
	u, err := url.Parse(got)
	if err != nil || u.Scheme != "https" || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil {
		return fmt.Errorf("the app's server URL %q is not an https origin", got)
	}
	if want == "" {
		return fmt.Errorf("the app's server URL %s cannot be compared with the stack's API: its URL is known only after the first deployment; "+
			"set the context apiUrl to the ApiUrl output (cdk deploy -c apiUrl=https://…)", got)
	}
	if normalizeURL(got) != normalizeURL(want) {
		return fmt.Errorf("the app talks to %s, the stack's API is %s: build it with AGENT_SERVER_URL=%s", got, want, want)
	}
	return nil
}

func normalizeURL(s string) string { return strings.ToLower(strings.TrimSuffix(s, "/")) }

func hashFiles(dir string) (map[string]string, error) {
	files := map[string]string{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if rel == ManifestFile {
			return nil
		}
		if !d.Type().IsRegular() {
			return fmt.Errorf("%s is not a regular file", path)
		}
		raw, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(raw)
		files[rel] = hex.EncodeToString(sum[:])
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("release folder %s: %w", dir, err)
	}
	return files, nil
}

// VerifySignature checks an exe's Authenticode signature with osslsigncode (the digest, and
// the chain up to a root in caFile, or the system's roots for ""), then that the
// certificate that made it is want's.
func VerifySignature(exe, caFile string, want Signer) error {
	tool, err := exec.LookPath("osslsigncode")
	if err != nil {
		return errors.New("osslsigncode is needed to verify the app's signature: install it (make agent does)")
	}
	args := []string{"verify"}
	if caFile != "" {
		args = append(args, "-CAfile", caFile)
	}
	out, err := exec.Command(tool, append(args, "-in", exe)...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: the signature does not verify (osslsigncode verify: %v):\n%s", exe, err, tail(out))
	}
	tmp, err := os.MkdirTemp("", "release-sig-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	sig := filepath.Join(tmp, "signature.der")
	if out, err := exec.Command(tool, "extract-signature", "-in", exe, "-out", sig).CombinedOutput(); err != nil {
		return fmt.Errorf("%s: extract the signature: %v\n%s", exe, err, tail(out))
	}
	der, err := os.ReadFile(sig)
	if err != nil {
		return err
	}
	got, err := signerOfPKCS7(der)
	if err != nil {
		return fmt.Errorf("%s: %w", exe, err)
	}
	if !strings.EqualFold(got.SHA256, want.SHA256) {
		return fmt.Errorf("%s is signed by %s (SHA-256 %s), the release manifest names %s (%s)", exe, got.Subject, got.SHA256, want.Subject, want.SHA256)
	}
	return nil
}

// verifyTimestamp: the signature carries an RFC 3161 timestamp that verifies. osslsigncode
// verify succeeds without one, or with one it cannot verify (it then checks the signature at
// the current time), so its report is read.
func verifyTimestamp(exe, caFile, tsaCAFile string) error {
	args := []string{"verify"}
	if caFile != "" {
		args = append(args, "-CAfile", caFile)
	}
	if tsaCAFile != "" {
		args = append(args, "-TSA-CAfile", tsaCAFile)
	}
	out, err := exec.Command("osslsigncode", append(args, "-in", exe)...).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Timestamp Server Signature verification: ok") {
		return fmt.Errorf("%s: the release manifest names a time-stamp server, but the signature carries no timestamp that verifies (osslsigncode verify: %v):\n%s", exe, err, tail(out))
	}
	return nil
}

func tail(b []byte) string {
	const max = 2000
	if len(b) > max {
		b = b[len(b)-max:]
	}
	return strings.TrimSpace(string(b))
}

// The parts of a PKCS #7 SignedData (RFC 2315) that name the signer: the certificates, and
// the first signer's issuer and serial number.
type contentInfo struct {
	ContentType asn1.ObjectIdentifier
	Content     asn1.RawValue `asn1:"explicit,tag:0"`
}

type signedData struct {
	Version          int
	DigestAlgorithms asn1.RawValue
	ContentInfo      asn1.RawValue
	Certificates     asn1.RawValue `asn1:"optional,tag:0"`
	CRLs             asn1.RawValue `asn1:"optional,tag:1"`
	SignerInfos      []signerInfo  `asn1:"set"`
}

type signerInfo struct {
	Version int
	Issuer  issuerAndSerial
	Rest    []asn1.RawValue `asn1:"optional"` // digest, attributes, signature: not needed here
}

type issuerAndSerial struct {
	Issuer asn1.RawValue
	Serial *big.Int
}

var oidSignedData = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 2}

// signerOfPKCS7 finds the certificate of the first signer of a DER SignedData.
func signerOfPKCS7(der []byte) (Signer, error) {
	var ci contentInfo
	if _, err := asn1.Unmarshal(der, &ci); err != nil {
		return Signer{}, fmt.Errorf("signature: %w", err)
	}
	if !ci.ContentType.Equal(oidSignedData) {
		return Signer{}, fmt.Errorf("signature: content type %v is not SignedData", ci.ContentType)
	}
	var sd signedData
	if _, err := asn1.Unmarshal(ci.Content.Bytes, &sd); err != nil {
		return Signer{}, fmt.Errorf("signature: %w", err)
	}
	if len(sd.SignerInfos) == 0 {
		return Signer{}, errors.New("signature: no signer")
	}
	certs, err := x509.ParseCertificates(sd.Certificates.Bytes)
	if err != nil {
		return Signer{}, fmt.Errorf("signature: certificates: %w", err)
	}
	id := sd.SignerInfos[0].Issuer
	for _, c := range certs {
		if bytes.Equal(c.RawIssuer, id.Issuer.FullBytes) && c.SerialNumber.Cmp(id.Serial) == 0 {
			return signerOfCert(c), nil
		}
	}
	return Signer{}, errors.New("signature: the signer's certificate is not in it")
}
