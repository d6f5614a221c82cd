package e2e

// The browser of the end-to-end test that drives the console (wine_console_test.go):
// Debian's headless chromium, as internal/console's browser tests run it (their helpers are
// the fuller set; these are the few this package needs).

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/input"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/adhoc-support/adhoc-support/internal/testing/chromium"
)

// browser is one headless chromium with a fresh profile and one tab.
type browser struct {
	t *testing.T
	// ctx is the tab's; wait is how long a condition may take (a Wine PC on a loaded
	// 2-core machine is slow).
	ctx  context.Context
	wait time.Duration
	// downloads is where the browser saves what the page hands it.
	downloads string

	mu       sync.Mutex
	problems []string // uncaught exceptions and console errors (CSP violations among them)
}

func newBrowser(t *testing.T, wait time.Duration) *browser {
	t.Helper()
	profile := t.TempDir()
	opts, err := chromium.Options(profile)
	if err != nil {
		t.Fatal(err)
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(actx)
	ctx, cancelTime := context.WithTimeout(ctx, 10*time.Minute)
	// Registered after TempDir, so the browser has exited before its profile is removed.
	t.Cleanup(func() {
		cancelTime()
		cancelTab()
		cancelAlloc()
	})
	b := &browser{t: t, ctx: ctx, wait: wait, downloads: t.TempDir()}
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 800)); err != nil {
		t.Fatalf("start chromium: %v (run make chromium)", err)
	}
	b.do("allow downloads", chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, cdpbrowser.SetDownloadBehavior, cdpbrowser.SetDownloadBehaviorParams{
			Behavior: cdpbrowser.SetDownloadBehaviorBehaviorAllow, DownloadPath: b.downloads})
		return err
	}))
	exceptions := chromedp.Events(ctx, runtime.ExceptionThrown)
	entries := chromedp.Events(ctx, cdplog.EntryAdded)
	go func() {
		for ev, err := range exceptions {
			if err != nil {
				return
			}
			msg := ev.ExceptionDetails.Text
			if ev.ExceptionDetails.Exception != nil {
				msg += " " + ev.ExceptionDetails.Exception.Description
			}
			b.problem("exception: " + msg)
		}
	}()
	go func() {
		for ev, err := range entries {
			if err != nil {
				return
			}
			if e := ev.Entry; e != nil && e.Level == cdplog.EntryLevelError && e.Source != cdplog.EntrySourceNetwork {
				b.problem(fmt.Sprintf("console %s: %s", e.Source, e.Text))
			}
		}
	}()
	t.Cleanup(func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		for _, p := range b.problems {
			t.Errorf("browser reported: %s", p)
		}
	})
	return b
}

func (b *browser) problem(s string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.problems = append(b.problems, s)
}

func (b *browser) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, steps...); err != nil {
		b.t.Fatalf("%s: %v\npage text:\n%s", what, err, b.pageText())
	}
}

func (b *browser) eval(expr string) string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](expr))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v", expr, err)
	}
	return s
}

func (b *browser) pageText() string {
	s, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`))
	return s
}

// text is the rendered text of the first element matching the CSS selector, "" if none.
func (b *browser) text(sel string) string {
	b.t.Helper()
	q, _ := json.Marshal(sel)
	return b.eval(fmt.Sprintf(`(document.querySelector(%s) || {innerText: ""}).innerText`, q))
}

// waitFor polls a JavaScript condition until it holds, for at most b.wait. (chromedp.Poll
// builds its predicate with new Function, which the console's CSP forbids; DevTools
// evaluations are exempt.)
func (b *browser) waitFor(what, cond string) {
	b.t.Helper()
	deadline := time.Now().Add(b.wait)
	for {
		ok, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](fmt.Sprintf("Boolean(%s)", cond)))
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("waiting for %s: %s did not hold within %v (last error: %v)\npage text:\n%s", what, cond, b.wait, err, b.pageText())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (b *browser) waitText(what, sel, want string) {
	b.t.Helper()
	q, _ := json.Marshal(sel)
	w, _ := json.Marshal(want)
	b.waitFor(what, fmt.Sprintf(`(document.querySelector(%s) || {innerText: ""}).innerText.includes(%s)`, q, w))
}

func (b *browser) click(sel string) {
	b.t.Helper()
	b.do("click "+sel, chromedp.WaitVisible(chromedp.CSS(sel)), chromedp.Click(chromedp.CSS(sel)))
}

// typeInto empties the field as select-all and delete would and types text key by key.
func (b *browser) typeInto(sel, text string) {
	b.t.Helper()
	q, _ := json.Marshal(sel)
	b.do("type into "+sel,
		chromedp.WaitVisible(chromedp.CSS(sel)),
		chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`(() => { const el = document.querySelector(%s); el.value = ""; el.dispatchEvent(new Event("input", {bubbles: true})); })()`, q)),
		chromedp.SendKeys(chromedp.CSS(sel), text))
}

// shot saves a full-page PNG under $TEST_OUTPUT_DIR/e2e (nothing without it).
func (b *browser) shot(name string) {
	b.t.Helper()
	dir := os.Getenv("TEST_OUTPUT_DIR")
	if dir == "" {
		return
	}
	dir = filepath.Join(dir, "e2e")
	png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	if err == nil {
		err = os.MkdirAll(dir, 0o755)
	}
	if err == nil {
		err = os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644)
	}
	if err != nil {
		b.t.Logf("screenshot %s: %v", name, err)
	}
}

// termJS is what the terminal shows (xterm.js's DOM renderer: its rows are text), with its
// no-break spaces as spaces.
const termJS = `(document.querySelector("#terminal .xterm-rows") || {textContent: ""}).textContent.replace(/\u00a0/g, " ")`

// termHas is a condition: the terminal shows s at least n times.
func termHas(s string, n int) string {
	q, _ := json.Marshal(s)
	return fmt.Sprintf(`%s.split(%s).length > %d`, termJS, q, n)
}

// typeTerminal types into the terminal (xterm.js's textarea) as a keyboard does: a key down
// that carries its text, then the key up. (chromedp.KeyEvent adds a separate char event,
// which xterm.js takes as a second keystroke.)
func (b *browser) typeTerminal(keys string) {
	b.t.Helper()
	b.do("type into the terminal", chromedp.Focus(chromedp.CSS("#terminal .xterm-helper-textarea")),
		chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			for _, r := range keys {
				var down, up input.DispatchKeyEventParams
				for _, k := range kb.Encode(r) {
					switch k.Type {
					case input.DispatchKeyEventTypeKeyDown:
						down = *k
					case input.DispatchKeyEventTypeChar:
						down.Text, down.UnmodifiedText = k.Text, k.UnmodifiedText
					case input.DispatchKeyEventTypeKeyUp:
						up = *k
					}
				}
				if down.Text == "" {
					down.Type = input.DispatchKeyEventTypeRawKeyDown
				}
				for _, k := range []input.DispatchKeyEventParams{down, up} {
					if _, err := cdp.Call(ctx, tg, input.DispatchKeyEvent, k); err != nil {
						return err
					}
				}
			}
			return nil
		}))
}
