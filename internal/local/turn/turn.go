// Package turn is local mode's TURN server, the stand-in for Kinesis Video Streams' managed
// TURN: a pion/turn server on loopback, UDP and TCP on one port (127.0.0.1:3478, TURN_PORT),
// that relays only on loopback and accepts only time-limited TURN REST credentials
// (username "<unix expiry>:<id>", credential base64(HMAC-SHA1(secret, username))), which
// Credentials hands out as KVS's GetIceServerConfig hands out its own: valid 5 minutes for
// new allocations. Server.Servers is the ICE servers port of internal/support.
package turn

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1" // TURN REST credentials are HMAC-SHA1 by definition
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/pion/logging"
	"github.com/pion/stun/v4"
	"github.com/pion/turn/v5"

	"github.com/adhoc-support/adhoc-support/internal/protocol"
)

// DefaultPort is TURN's registered port.
const DefaultPort = 3478

// Realm is the TURN realm of the local server.
const Realm = "adhoc-support.local"

// CredentialLifetime is how long credentials are valid: as long as KVS's.
const CredentialLifetime = 5 * time.Minute

// Options configure Start.
type Options struct {
	// Port on 127.0.0.1 for UDP and TCP; 0 picks a free one (the same for both).
	Port int
	// Secret signs the credentials; empty makes a random one.
	Secret string
	// Lifetime is how long the credentials ICEServers and Servers hand out are valid;
	// zero is CredentialLifetime (tests of their expiry shorten it).
	Lifetime time.Duration
}

// Server is a running TURN server.
type Server struct {
	// Host and Port are where it listens, UDP and TCP.
	Host     string
	Port     int
	secret   string
	lifetime time.Duration
	turn     *turn.Server
}

// Start listens on 127.0.0.1 (UDP and TCP) and serves until Close. Relays are allocated
// on loopback too: the server never relays anywhere else.
func Start(o Options) (*Server, error) {
	secret := o.Secret
	if secret == "" {
		b := make([]byte, 32)
		if _, err := rand.Read(b); err != nil {
			return nil, fmt.Errorf("turn: secret: %w", err)
		}
		secret = base64.RawStdEncoding.EncodeToString(b)
	}
	udp, tcp, err := listen(o.Port)
	if err != nil {
		return nil, err
	}
	loopback := net.IPv4(127, 0, 0, 1)
	relay := &turn.RelayAddressGeneratorStatic{RelayAddress: loopback, Address: loopback.String()}
	onlyLoopback := func(_ net.Addr, peer net.IP) bool { return peer.IsLoopback() }
	logs := logging.NewDefaultLoggerFactory()
	logs.DefaultLogLevel = logging.LogLevelWarn
	srv, err := turn.NewServer(turn.ServerConfig{
		Realm:         Realm,
		AuthHandler:   restAuth(secret),
		LoggerFactory: logs,
		PacketConnConfigs: []turn.PacketConnConfig{{PacketConn: udp, RelayAddressGenerator: relay,
			PermissionHandler: onlyLoopback}},
		ListenerConfigs: []turn.ListenerConfig{{Listener: tcp, RelayAddressGenerator: relay,
			PermissionHandler: onlyLoopback}},
	})
	if err != nil {
		_ = udp.Close()
		_ = tcp.Close()
		return nil, fmt.Errorf("turn: %w", err)
	}
	return &Server{Host: loopback.String(), Port: udp.LocalAddr().(*net.UDPAddr).Port, secret: secret, lifetime: o.Lifetime, turn: srv}, nil
}

// restAuth checks TURN REST credentials as pion's LongTermTURNRESTAuthHandler does, with
// one difference: the expiry in the username bounds when an allocation may be made, not
// how long it lives. pion's handler checks the expiry on every authenticated request, so
// the Refresh and CreatePermission a client sends every few minutes fail once its
// credentials are 5 minutes old, and a relayed remote connection would drop then. What
// KVS's managed TURN does there is not documented; local mode keeps connections up, and
// a new allocation (a new connection, an ICE restart) needs fresh credentials.
func restAuth(secret string) turn.AuthHandler {
	return func(ra *turn.RequestAttributes) (string, []byte, bool) {
		expiry, id, ok := strings.Cut(ra.Username, ":")
		t, err := strconv.ParseInt(expiry, 10, 64)
		if !ok || err != nil || id == "" {
			return "", nil, false
		}
		if ra.Method == stun.MethodAllocate && t < time.Now().Unix() {
			return "", nil, false
		}
		mac := hmac.New(sha1.New, []byte(secret))
		mac.Write([]byte(ra.Username))
		password := base64.StdEncoding.EncodeToString(mac.Sum(nil))
		return id, turn.GenerateAuthKey(ra.Username, ra.Realm, password), true
	}
}

// listen opens UDP and TCP on the same loopback port: the given one, or a free one.
func listen(port int) (net.PacketConn, net.Listener, error) {
	for attempt := 0; ; attempt++ {
		udp, err := net.ListenPacket("udp4", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err != nil {
			return nil, nil, fmt.Errorf("turn: listen on udp port %d: %w", port, err)
		}
		got := udp.LocalAddr().(*net.UDPAddr).Port
		tcp, err := net.Listen("tcp4", net.JoinHostPort("127.0.0.1", strconv.Itoa(got)))
		if err == nil {
			return udp, tcp, nil
		}
		_ = udp.Close()
		if port != 0 || attempt == 20 {
			return nil, nil, fmt.Errorf("turn: listen on tcp port %d: %w", got, err)
		}
	}
}

// Close stops the server.
func (s *Server) Close() error {
	if s == nil || s.turn == nil {
		return nil
	}
	return s.turn.Close()
}

// Credentials are a username and password for the server, valid until Expires.
type Credentials struct {
	Username, Password string
	Expires            time.Time
}

// Credentials makes credentials for id, valid for lifetime (CredentialLifetime when 0) on
// the real clock, which is what the server checks them against.
func (s *Server) Credentials(id string, lifetime time.Duration) (Credentials, error) {
	if lifetime == 0 {
		lifetime = CredentialLifetime
	}
	if id == "" {
		return Credentials{}, errors.New("turn: credentials need an id")
	}
	user, pass, err := turn.GenerateLongTermTURNRESTCredentials(s.secret, id, lifetime)
	if err != nil {
		return Credentials{}, fmt.Errorf("turn: credentials: %w", err)
	}
	// The expiry the server checks is the username's, in whole seconds.
	expiry, _, _ := strings.Cut(user, ":")
	sec, err := strconv.ParseInt(expiry, 10, 64)
	if err != nil {
		return Credentials{}, fmt.Errorf("turn: credentials: %w", err)
	}
	return Credentials{Username: user, Password: pass, Expires: time.Unix(sec, 0).UTC()}, nil
}

// ICEServers are the server's URLs (TURN over UDP and over TCP) with fresh credentials for
// id, as a browser's RTCPeerConnection and pion take them.
func (s *Server) ICEServers(id string) ([]protocol.ICEServer, time.Time, error) {
	c, err := s.Credentials(id, s.lifetime)
	if err != nil {
		return nil, time.Time{}, err
	}
	addr := net.JoinHostPort(s.Host, strconv.Itoa(s.Port))
	return []protocol.ICEServer{{
		URLs:     []string{"turn:" + addr + "?transport=udp", "turn:" + addr + "?transport=tcp"},
		Username: c.Username, Credential: c.Password,
	}}, c.Expires, nil
}

// Servers implements the ICE servers port of internal/support (support.ICEServers) for
// local mode: the server's URLs with fresh credentials for clientID (the remote
// connection's id). Every account shares the one server.
func (s *Server) Servers(_ context.Context, _, clientID string) ([]protocol.ICEServer, time.Time, error) {
	return s.ICEServers(clientID)
}
