package remote_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/pion/logging"
	pionturn "github.com/pion/turn/v5"
	"github.com/pion/webrtc/v4"

	"github.com/adhoc-support/adhoc-support/agent/remote"
	"github.com/adhoc-support/adhoc-support/internal/protocol"
)

// connectProxy is an HTTP proxy that tunnels CONNECT only, as a company's proxy that
// lets nothing else out does.
type connectProxy struct {
	srv     *httptest.Server
	mu      sync.Mutex
	tunnels []string
}

func newConnectProxy(t *testing.T) *connectProxy {
	t.Helper()
	p := &connectProxy{}
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodConnect {
			http.Error(w, "CONNECT only", http.StatusForbidden)
			return
		}
		p.mu.Lock()
		p.tunnels = append(p.tunnels, r.Host)
		p.mu.Unlock()
		dst, err := net.DialTimeout("tcp", r.Host, 5*time.Second)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		src, rw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			dst.Close()
			return
		}
		_, _ = src.Write([]byte("HTTP/1.1 200 Connection Established\r\n\r\n"))
		go func() {
			defer dst.Close()
			_, _ = io.Copy(dst, rw.Reader)
		}()
		go func() {
			defer src.Close()
			_, _ = io.Copy(src, dst)
		}()
	}))
	t.Cleanup(p.srv.Close)
	return p
}

func (p *connectProxy) url() *url.URL {
	u, _ := url.Parse(p.srv.URL)
	return u
}

func (p *connectProxy) seen() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.tunnels)
}

// tlsTURN is a TURN server over TLS on loopback, as KVS offers one on 443, with a
// certificate for localhost that remote is told to trust.
func tlsTURN(t *testing.T) (addr string, servers protocol.ICEServer) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "localhost"}, DNSNames: []string{"localhost"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	roots := x509.NewCertPool()
	roots.AddCert(cert)
	remote.SetTLSRoots(roots)
	t.Cleanup(func() { remote.SetTLSRoots(nil) })
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tlsLn := tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}, MinVersion: tls.VersionTLS12})
	logs := logging.NewDefaultLoggerFactory()
	logs.DefaultLogLevel = logging.LogLevelWarn
	loopback := net.IPv4(127, 0, 0, 1)
	srv, err := pionturn.NewServer(pionturn.ServerConfig{
		Realm:         "tls.test",
		LoggerFactory: logs,
		AuthHandler: func(ra *pionturn.RequestAttributes) (string, []byte, bool) {
			return "tls-user", pionturn.GenerateAuthKey("tls-user", ra.Realm, "tls-pass"), ra.Username == "tls-user"
		},
		ListenerConfigs: []pionturn.ListenerConfig{{Listener: tlsLn,
			RelayAddressGenerator: &pionturn.RelayAddressGeneratorStatic{RelayAddress: loopback, Address: loopback.String()}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	port := ln.Addr().(*net.TCPAddr).Port
	addr = "localhost:" + strconv.Itoa(port)
	return addr, protocol.ICEServer{URLs: []string{"turns:" + addr + "?transport=tcp"}, Username: "tls-user", Credential: "tls-pass"}
}

// TestThroughProxy: a PC without UDP behind a proxy that tunnels nothing but CONNECT
// reaches the TURN server through it, over TCP (the local stack's) and over TLS (as KVS
// offers it on 443).
func TestThroughProxy(t *testing.T) {
	t.Run("turn over tcp", func(t *testing.T) {
		proxy := newConnectProxy(t)
		r := newRig(t, rigOptions{route: turnTCP, proxy: proxy.url()})
		c, took := r.connect("r-proxy-tcp")
		t.Logf("open through the proxy in %v", took.Round(time.Millisecond))
		turnAddr := net.JoinHostPort(r.turn.Host, strconv.Itoa(r.turn.Port))
		if seen := proxy.seen(); !slices.Contains(seen, turnAddr) {
			t.Errorf("the proxy tunnelled %v, want %s", seen, turnAddr)
		}
		if p := c.Pair(); p.Remote.Typ != webrtc.ICECandidateTypeRelay {
			t.Errorf("app's candidate %s, want relay", p.Remote)
		}
		if m := c.Login(password); m["ok"] != true {
			t.Fatalf("login: %v", m)
		}
	})
	t.Run("turns", func(t *testing.T) {
		proxy := newConnectProxy(t)
		addr, tlsServer := tlsTURN(t)
		// The console relays over the local TURN server's UDP; the app, without UDP, over
		// the TLS one through the proxy.
		r := newRig(t, rigOptions{route: turnTCP, proxy: proxy.url()})
		consoleSide, _, err := r.turn.ICEServers("r-proxy-tls")
		if err != nil {
			t.Fatal(err)
		}
		consoleSide[0].URLs = consoleSide[0].URLs[:1] // UDP only, so the app can take only TLS
		r.servers = append(consoleSide, tlsServer)
		c, took := r.connect("r-proxy-tls")
		t.Logf("open over TLS through the proxy in %v", took.Round(time.Millisecond))
		if seen := proxy.seen(); !slices.Contains(seen, addr) {
			t.Errorf("the proxy tunnelled %v, want %s", seen, addr)
		}
		if m := c.Login(password); m["ok"] != true {
			t.Fatalf("login: %v", m)
		}
		c.TypeLine("echo over tls")
		c.WaitOutput("over tls\r\n")
	})
}
