package winos

import (
	"errors"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"
	"unsafe"

	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/registry"

	"github.com/adhoc-support/adhoc-support/agent/internal/sysproxy"
)

// The app reaches the server through the proxy Windows is set up with. What it uses, in
// order:
//  1. HTTPS_PROXY / HTTP_PROXY / NO_PROXY, when set (as for any Go program);
//  2. the proxy the person's own session resolved for the server at pairing (userProxy),
//     because the service runs as SYSTEM, whose settings are often empty where the
//     person's browser uses a proxy;
//  3. this process's Internet Options (static proxy, PAC file, WPAD auto-detection through
//     WinHTTP) and then the machine-wide WinHTTP proxy (netsh winhttp); agent/internal/
//     sysproxy decides between them.
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
		if proxyEnvSet() {
			// The environment's proxy settings rule, and they send this request direct
			// (NO_PROXY, or no proxy for its scheme).
			return nil, nil
		}
		key := r.URL.Scheme + "://" + r.URL.Host
		mu.Lock()
		c, ok := cache[key]
		mu.Unlock()
		if ok && time.Since(c.at) < proxyCacheFor {
			return c.u, nil
		}
		// The settings are read again whenever an answer is due, so a change in Internet
		// Options reaches a long-running service within proxyCacheFor.
		conf := sysproxy.Resolve(userProxySettings, machineProxySettings, registryProxySettings)
		u, err := conf.ProxyFor(r.URL, pacProxy)
		if err != nil {
			return nil, err
		}
		mu.Lock()
		cache[key] = cachedProxy{u: u, at: time.Now()}
		mu.Unlock()
		return u, nil
	}
}

func proxyEnvSet() bool {
	for _, name := range []string{"HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy"} {
		if os.Getenv(name) != "" {
			return true
		}
	}
	return false
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

var (
	winhttp                                   = windows.NewLazySystemDLL("winhttp.dll")
	procWinHttpGetIEProxyConfigForCurrentUser = winhttp.NewProc("WinHttpGetIEProxyConfigForCurrentUser")
	procWinHttpGetDefaultProxyConfiguration   = winhttp.NewProc("WinHttpGetDefaultProxyConfiguration")
	procWinHttpOpen                           = winhttp.NewProc("WinHttpOpen")
	procWinHttpCloseHandle                    = winhttp.NewProc("WinHttpCloseHandle")
	procWinHttpGetProxyForUrl                 = winhttp.NewProc("WinHttpGetProxyForUrl")
)

// WINHTTP_CURRENT_USER_IE_PROXY_CONFIG
type winhttpIEProxyConfig struct {
	autoDetect    int32 // BOOL
	autoConfigURL *uint16
	proxy         *uint16
	proxyBypass   *uint16
}

// WINHTTP_PROXY_INFO
type winhttpProxyInfo struct {
	accessType  uint32
	proxy       *uint16
	proxyBypass *uint16
}

// WINHTTP_AUTOPROXY_OPTIONS
type winhttpAutoproxyOptions struct {
	flags                 uint32
	autoDetectFlags       uint32
	autoConfigURL         *uint16
	reserved              uintptr
	reservedDword         uint32
	autoLogonIfChallenged int32 // BOOL
}

const (
	winhttpAutoproxyAutoDetect = 0x1
	winhttpAutoproxyConfigURL  = 0x2
	winhttpAutoDetectTypeDHCP  = 0x1
	winhttpAutoDetectTypeDNSA  = 0x2
)

// takeWinHTTPString copies a string WinHTTP allocated and frees it (GlobalFree).
func takeWinHTTPString(p *uint16) string {
	if p == nil {
		return ""
	}
	s := windows.UTF16PtrToString(p)
	_, _, _ = procGlobalFree.Call(uintptr(unsafe.Pointer(p)))
	return s
}

func winhttpCall(proc *windows.LazyProc, args ...uintptr) error {
	if err := proc.Find(); err != nil {
		return err
	}
	if r, _, err := proc.Call(args...); r == 0 {
		return err
	}
	return nil
}

// userProxySettings reads this account's Internet Options.
func userProxySettings() (sysproxy.Settings, error) {
	var c winhttpIEProxyConfig
	if err := winhttpCall(procWinHttpGetIEProxyConfigForCurrentUser, uintptr(unsafe.Pointer(&c))); err != nil {
		return sysproxy.Settings{}, err
	}
	return sysproxy.Settings{
		Proxy:      takeWinHTTPString(c.proxy),
		Bypass:     takeWinHTTPString(c.proxyBypass),
		PACURL:     takeWinHTTPString(c.autoConfigURL),
		AutoDetect: c.autoDetect != 0,
	}, nil
}

// machineProxySettings reads the WinHTTP proxy (netsh winhttp set proxy).
func machineProxySettings() (sysproxy.Settings, error) {
	var info winhttpProxyInfo
	if err := winhttpCall(procWinHttpGetDefaultProxyConfiguration, uintptr(unsafe.Pointer(&info))); err != nil {
		return sysproxy.Settings{}, err
	}
	return sysproxy.Settings{Proxy: takeWinHTTPString(info.proxy), Bypass: takeWinHTTPString(info.proxyBypass)}, nil
}

// registryProxySettings reads the Internet Settings values: the account's, or the
// machine's when the policy ProxySettingsPerUser is 0.
func registryProxySettings() (sysproxy.Settings, error) {
	root := registry.CURRENT_USER
	if k, err := registry.OpenKey(registry.LOCAL_MACHINE, `Software\Policies\Microsoft\Windows\CurrentVersion\Internet Settings`, registry.QUERY_VALUE); err == nil {
		if perUser, _, err := k.GetIntegerValue("ProxySettingsPerUser"); err == nil && perUser == 0 {
			root = registry.LOCAL_MACHINE
		}
		k.Close()
	}
	k, err := registry.OpenKey(root, `Software\Microsoft\Windows\CurrentVersion\Internet Settings`, registry.QUERY_VALUE)
	if err != nil {
		return sysproxy.Settings{}, err
	}
	defer k.Close()
	str := func(name string) string {
		v, _, err := k.GetStringValue(name)
		if err != nil && !errors.Is(err, registry.ErrNotExist) {
			return ""
		}
		return v
	}
	s := sysproxy.Settings{Bypass: str("ProxyOverride"), PACURL: str("AutoConfigURL")}
	if enabled, _, err := k.GetIntegerValue("ProxyEnable"); err == nil && enabled != 0 {
		s.Proxy = str("ProxyServer")
	}
	return s, nil
}

// pacProxy asks WinHTTP what the PAC file at pacURL ("" for WPAD auto-detection) says for
// target; "" when it says DIRECT or the lookup fails.
func pacProxy(pacURL, target string) string {
	targetW, err := windows.UTF16PtrFromString(target)
	if err != nil {
		return ""
	}
	opts := winhttpAutoproxyOptions{autoLogonIfChallenged: 1}
	if pacURL == "" {
		opts.flags = winhttpAutoproxyAutoDetect
		opts.autoDetectFlags = winhttpAutoDetectTypeDHCP | winhttpAutoDetectTypeDNSA
	} else {
		if opts.autoConfigURL, err = windows.UTF16PtrFromString(pacURL); err != nil {
			return ""
		}
		opts.flags = winhttpAutoproxyConfigURL
	}
	if procWinHttpOpen.Find() != nil {
		return ""
	}
	session, _, _ := procWinHttpOpen.Call(0, 0, 0, 0, 0)
	if session == 0 {
		return ""
	}
	defer procWinHttpCloseHandle.Call(session)
	var info winhttpProxyInfo
	r, _, _ := procWinHttpGetProxyForUrl.Call(session, uintptr(unsafe.Pointer(targetW)), uintptr(unsafe.Pointer(&opts)), uintptr(unsafe.Pointer(&info)))
	proxy := takeWinHTTPString(info.proxy)
	takeWinHTTPString(info.proxyBypass)
	if r == 0 {
		return ""
	}
	return proxy
}
