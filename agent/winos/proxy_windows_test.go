package winos

import (
	"encoding/binary"
	"net"
	"net/http"
	"os"
	"testing"

	"golang.org/x/sys/windows/registry"
)

// wineProxyTestEnv is set by agent/winetest's TestProxySettingsUnderWine, which runs this
// package's test exe in a Wine prefix of its own: the test rewrites the account's Internet
// Settings, which it must not do on a PC it merely builds on.
const wineProxyTestEnv = "ADHOC_WINE_PROXY_TEST"

const internetSettings = `Software\Microsoft\Windows\CurrentVersion\Internet Settings`

// Flags of the DefaultConnectionSettings blob (what Internet Options writes).
const (
	connDirect     = 0x1
	connProxy      = 0x2
	connPACURL     = 0x4
	connAutoDetect = 0x8
)

// connectionSettings is the DefaultConnectionSettings blob: a version (0x46), a counter,
// the flags and three counted ANSI strings (proxy list, bypass list, PAC URL), then fields
// the proxy reading does not use.
func connectionSettings(flags uint32, proxy, bypass, pacURL string) []byte {
	b := binary.LittleEndian.AppendUint32(nil, 0x46)
	b = binary.LittleEndian.AppendUint32(b, 0)
	b = binary.LittleEndian.AppendUint32(b, flags)
	for _, s := range []string{proxy, bypass, pacURL} {
		b = binary.LittleEndian.AppendUint32(b, uint32(len(s)))
		b = append(b, s...)
	}
	return append(b, make([]byte, 32)...)
}

func setInternetSettings(t *testing.T, blob []byte, values map[string]any) {
	t.Helper()
	conn, _, err := registry.CreateKey(registry.CURRENT_USER, internetSettings+`\Connections`, registry.ALL_ACCESS)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if blob == nil {
		if err := conn.DeleteValue("DefaultConnectionSettings"); err != nil && err != registry.ErrNotExist {
			t.Fatal(err)
		}
	} else if err := conn.SetBinaryValue("DefaultConnectionSettings", blob); err != nil {
		t.Fatal(err)
	}
	k, _, err := registry.CreateKey(registry.CURRENT_USER, internetSettings, registry.ALL_ACCESS)
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	for _, name := range []string{"ProxyEnable", "ProxyServer", "ProxyOverride", "AutoConfigURL"} {
		if err := k.DeleteValue(name); err != nil && err != registry.ErrNotExist {
			t.Fatal(err)
		}
	}
	for name, v := range values {
		switch v := v.(type) {
		case string:
			err = k.SetStringValue(name, v)
		case uint32:
			err = k.SetDWordValue(name, v)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

// servePAC serves a PAC file on loopback and returns its URL.
func servePAC(t *testing.T, script string) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-ns-proxy-autoconfig")
		w.Write([]byte(script))
	})}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return "http://" + l.Addr().String() + "/proxy.pac"
}

// TestProxyFromInternetSettings reads the account's proxy settings through WinHTTP and the
// registry as the app does: the static list with its bypass list, a PAC file, the
// registry's values, and none.
func TestProxyFromInternetSettings(t *testing.T) {
	if os.Getenv(wineProxyTestEnv) != "1" {
		t.Skipf("changes the account's Internet Settings: runs in a Wine prefix of its own from agent/winetest (%s=1)", wineProxyTestEnv)
	}
	for _, name := range []string{"HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "NO_PROXY", "no_proxy"} {
		os.Unsetenv(name)
	}
	pac := servePAC(t, `function FindProxyForURL(url, host) {
  if (shExpMatch(host, "*.direct.example")) return "DIRECT";
  return "PROXY pac-proxy.example:8080; DIRECT";
}`)
	type lookup struct{ url, want string }
	for _, c := range []struct {
		name    string
		blob    []byte
		values  map[string]any
		lookups []lookup
	}{
		{
			name: "Internet Options: a proxy per scheme and a bypass list",
			blob: connectionSettings(connDirect|connProxy, "http=proxy.corp:3128;https=proxy.corp:3129", "<local>;*.intra.example", ""),
			lookups: []lookup{
				{"https://api.support.example/v1/agent/poll", "http://proxy.corp:3129"},
				{"http://api.support.example/", "http://proxy.corp:3128"},
				{"https://files.intra.example/", ""},
				{"https://intranet/", ""},
				{"https://127.0.0.1:8443/", ""},
			},
		},
		{
			name: "Internet Options: a PAC file",
			blob: connectionSettings(connDirect|connPACURL, "", "", pac),
			lookups: []lookup{
				{"https://api.support.example/", "http://pac-proxy.example:8080"},
				{"https://www.direct.example/", ""},
			},
		},
		{
			name:   "no proxy in Internet Options: the registry's values",
			blob:   connectionSettings(connDirect, "", "", ""),
			values: map[string]any{"ProxyEnable": uint32(1), "ProxyServer": "reg-proxy.corp:8888", "ProxyOverride": "*.skip.example"},
			lookups: []lookup{
				{"https://api.support.example/", "http://reg-proxy.corp:8888"},
				{"https://a.skip.example/", ""},
			},
		},
		{
			name:    "the registry's proxy switched off",
			blob:    connectionSettings(connDirect, "", "", ""),
			values:  map[string]any{"ProxyEnable": uint32(0), "ProxyServer": "reg-proxy.corp:8888"},
			lookups: []lookup{{"https://api.support.example/", ""}},
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			setInternetSettings(t, c.blob, c.values)
			for _, l := range c.lookups {
				if got := UserProxy(l.url); got != l.want {
					t.Errorf("UserProxy(%s) = %q, want %q", l.url, got, l.want)
				}
			}
		})
	}
	t.Run("a recorded proxy rules for the service, loopback aside", func(t *testing.T) {
		setInternetSettings(t, connectionSettings(connDirect|connProxy, "proxy.corp:3128", "", ""), nil)
		f := proxyFunc("http://recorded.corp:8080")
		for _, l := range []lookup{
			{"https://api.support.example/", "http://recorded.corp:8080"},
			{"https://127.0.0.1/", ""},
		} {
			r, _ := http.NewRequest(http.MethodGet, l.url, nil)
			u, err := f(r)
			got := ""
			if u != nil {
				got = u.String()
			}
			if err != nil || got != l.want {
				t.Errorf("proxy for %s = %q, %v; want %q", l.url, got, err, l.want)
			}
		}
	})
}
