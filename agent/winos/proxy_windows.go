package winos

import (
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/mattn/go-ieproxy"
)

// The app reaches the server through the proxy Windows is set up with. What it uses, in
// order:
//  1. HTTPS_PROXY / HTTP_PROXY / NO_PROXY, when set (as for any Go program);
//  2. the proxy the person's own session resolved for the server at pairing (userProxy),
//     because the service runs as SYSTEM, whose settings are often empty where the
//     person's browser uses a proxy;
//  3. this process's Internet Options (static proxy, PAC file, WPAD auto-detection through
//     WinHTTP) and then the machine-wide WinHTTP proxy (netsh winhttp), which
//     github.com/mattn/go-ieproxy reads.
// A PAC or auto-detect answer costs a WinHTTP lookup, so answers are kept for a while.

const proxyCacheFor = 10 * time.Minute

type cachedProxy struct {
	u  *url.URL
	at time.Time
}

// HTTPClient returns the client the app talks to the server with. userProxy is the proxy
// URL recorded at pairing, or "".
func HTTPClient(userProxy string) *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.Proxy = proxyFunc(userProxy)
	return &http.Client{Transport: t, Timeout: 30 * time.Second}
}

func proxyFunc(userProxy string) func(*http.Request) (*url.URL, error) {
	env := http.ProxyFromEnvironment
	var fixed *url.URL
	if userProxy != "" {
		fixed, _ = url.Parse(userProxy)
	}
	system := ieproxy.GetProxyFunc()
	var mu sync.Mutex
	cache := map[string]cachedProxy{}
	return func(r *http.Request) (*url.URL, error) {
		if u, err := env(r); u != nil || err != nil {
			return u, err
		}
		if isLoopback(r.URL.Hostname()) {
			return nil, nil
		}
		if fixed != nil {
			return fixed, nil
		}
		key := r.URL.Scheme + "://" + r.URL.Host
		mu.Lock()
		c, ok := cache[key]
		mu.Unlock()
		if ok && time.Since(c.at) < proxyCacheFor {
			return c.u, nil
		}
		u, err := system(r)
		if err != nil {
			return nil, err
		}
		if u != nil && u.Scheme == "" {
			// A PAC answer is "host:port"; it means an HTTP proxy.
			u.Scheme = "http"
		}
		mu.Lock()
		cache[key] = cachedProxy{u: u, at: time.Now()}
		mu.Unlock()
		return u, nil
	}
}

// UserProxy is the proxy this process would use for serverURL, as a URL string, or ""
// for a direct connection. The pairing window runs as the person, so its answer is the
// one their browser used to download the app.
func UserProxy(serverURL string) string {
	r, err := http.NewRequest(http.MethodGet, serverURL, nil)
	if err != nil {
		return ""
	}
	u, err := proxyFunc("")(r)
	if err != nil || u == nil {
		return ""
	}
	return u.String()
}

func isLoopback(host string) bool {
	return host == "localhost" || strings.HasPrefix(host, "127.") || host == "::1"
}
