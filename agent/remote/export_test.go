package remote

import (
	"crypto/x509"

	"github.com/adhoc-support/adhoc-support/internal/protocol"
)

// SetTLSRoots makes TLS to TURN servers and proxies trust roots (nil: the system's).
func SetTLSRoots(roots *x509.CertPool) { tlsRoots = roots }

// For the tests of package remote_test.

// PeakBuffered is the highest bufferedAmount seen after a send on any channel.
func (m *Manager) PeakBuffered() uint64 { return m.peak.v.Load() }

// The back-pressure marks and the chunk size.
const (
	HighWater = highWater
	LowWater  = lowWater
	ChunkSize = chunkSize
)

// PlanTransport exposes planTransport's choice: the URLs kept, relay only, loopback.
func PlanTransport(servers []protocol.ICEServer, udp bool) (urls []string, relayOnly, loopback bool, err error) {
	t, err := planTransport(servers, udp)
	for _, s := range t.servers {
		urls = append(urls, s.URLs...)
	}
	return urls, t.relayOnly, t.loopback, err
}

// UnmarshalSecret decodes a JSON string as the login's password is decoded.
func UnmarshalSecret(raw []byte) ([]byte, error) {
	var s secret
	err := s.UnmarshalJSON(raw)
	return s, err
}

// ValidName is validName.
func ValidName(name string) bool { return validName(name) }
