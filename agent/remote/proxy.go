package remote

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/pion/stun/v4"
)

// A PC behind a proxy that lets nothing else out still reaches a TURN server over TCP or
// TLS (KVS offers TLS on 443): ICE dials those through the app's own proxy, the one its
// API calls take, with HTTP CONNECT.

// dialTimeout bounds reaching the TURN server, through the proxy or not.
const dialTimeout = 10 * time.Second

// tlsRoots are the roots TLS is checked against: nil, the system's. Tests set their own.
var tlsRoots *x509.CertPool

// proxyDialer is what pion's ICE uses to reach TURN servers over TCP and TLS.
type proxyDialer struct {
	// proxy returns the proxy for an address (host:port), nil for none.
	proxy func(addr string) (*url.URL, error)
	// tlsNames are the TURN servers to speak TLS to (turns: URLs), by host:port as ICE
	// dials them, with the name their certificate must carry. ICE hands a proxy dialer's
	// connection on as it is, so TLS is this dialer's business.
	tlsNames map[string]string
}

func newProxyDialer(proxy func(string) (*url.URL, error), urls []string) *proxyDialer {
	d := &proxyDialer{proxy: proxy, tlsNames: map[string]string{}}
	for _, raw := range urls {
		u, err := stun.ParseURI(raw)
		if err != nil || u.Scheme != stun.SchemeTypeTURNS {
			continue
		}
		// ICE names the address as fmt.Sprintf("%s:%d", host, port).
		d.tlsNames[fmt.Sprintf("%s:%d", u.Host, u.Port)] = u.Host
	}
	return d
}

// Dial implements golang.org/x/net/proxy.Dialer.
func (d *proxyDialer) Dial(network, addr string) (net.Conn, error) {
	p, err := d.proxy(addr)
	if err != nil {
		return nil, fmt.Errorf("proxy for %s: %w", addr, err)
	}
	var conn net.Conn
	if p == nil {
		conn, err = net.DialTimeout(network, addr, dialTimeout)
	} else {
		conn, err = connect(p, addr)
	}
	if err != nil {
		return nil, err
	}
	name, ok := d.tlsNames[addr]
	if !ok {
		return conn, nil
	}
	tc := tls.Client(conn, &tls.Config{ServerName: name, RootCAs: tlsRoots, MinVersion: tls.VersionTLS12})
	_ = conn.SetDeadline(time.Now().Add(dialTimeout))
	if err := tc.Handshake(); err != nil {
		conn.Close()
		return nil, fmt.Errorf("TLS to %s: %w", addr, err)
	}
	_ = conn.SetDeadline(time.Time{})
	return tc, nil
}

// connect opens a tunnel to addr through an HTTP proxy.
func connect(p *url.URL, addr string) (net.Conn, error) {
	if p.Scheme != "http" && p.Scheme != "https" {
		return nil, fmt.Errorf("proxy %s: only HTTP proxies can carry TURN", p.Redacted())
	}
	host := p.Host
	if p.Port() == "" {
		host = net.JoinHostPort(p.Hostname(), map[string]string{"http": "80", "https": "443"}[p.Scheme])
	}
	conn, err := net.DialTimeout("tcp", host, dialTimeout)
	if err != nil {
		return nil, fmt.Errorf("proxy %s: %w", p.Redacted(), err)
	}
	if p.Scheme == "https" {
		tc := tls.Client(conn, &tls.Config{ServerName: p.Hostname(), RootCAs: tlsRoots, MinVersion: tls.VersionTLS12})
		conn = tc
	}
	_ = conn.SetDeadline(time.Now().Add(dialTimeout))
	req := "CONNECT " + addr + " HTTP/1.1\r\nHost: " + addr + "\r\n"
	if u := p.User; u != nil {
		pw, _ := u.Password()
		req += "Proxy-Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte(u.Username()+":"+pw)) + "\r\n"
	}
	if _, err := conn.Write([]byte(req + "\r\n")); err != nil {
		conn.Close()
		return nil, fmt.Errorf("proxy %s: %w", p.Redacted(), err)
	}
	br := bufio.NewReader(conn)
	res, err := http.ReadResponse(br, &http.Request{Method: http.MethodConnect})
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("proxy %s: %w", p.Redacted(), err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		conn.Close()
		return nil, fmt.Errorf("proxy %s refused the tunnel to %s: %s", p.Redacted(), addr, res.Status)
	}
	_ = conn.SetDeadline(time.Time{})
	if br.Buffered() > 0 {
		return &bufferedConn{Conn: conn, r: br}, nil
	}
	return conn, nil
}

// bufferedConn reads what the proxy's answer left in the buffer first. LocalAddr stays
// the TCP connection's: ICE takes its address for the candidate.
type bufferedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *bufferedConn) Read(p []byte) (int, error) { return c.r.Read(p) }
