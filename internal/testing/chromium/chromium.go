// Package chromium is what the console's browser tests (internal/console, and the end-to-end
// test against the Wine PC) do to a page beyond chromedp's own actions: read the remote
// screen's canvas, and send mouse and keyboard events as a user's devices make them.
package chromium

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"image"
	"image/draw"
	"image/png"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
)

// Canvas is what the <canvas> that sel selects shows, as the page's toDataURL gives it.
func Canvas(ctx context.Context, sel string) (*image.RGBA, error) {
	q, _ := json.Marshal(sel)
	url, err := chromedp.Run(ctx, chromedp.Evaluate[string](fmt.Sprintf(`document.querySelector(%s).toDataURL("image/png")`, q)))
	if err != nil {
		return nil, fmt.Errorf("read the canvas %s: %w", sel, err)
	}
	_, data, ok := strings.Cut(url, ",")
	if !ok {
		return nil, fmt.Errorf("the canvas %s gave %.40q", sel, url)
	}
	raw, err := base64.StdEncoding.DecodeString(data)
	if err != nil {
		return nil, fmt.Errorf("the canvas %s: %w", sel, err)
	}
	img, err := png.Decode(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("the canvas %s's PNG: %w", sel, err)
	}
	out := image.NewRGBA(img.Bounds())
	draw.Draw(out, out.Rect, img, img.Bounds().Min, draw.Src)
	return out, nil
}

// Dispatch sends the mouse events, then the key events, as the user's devices make them
// (DevTools' Input domain: the page sees trusted events).
func Dispatch(mouse []input.DispatchMouseEventParams, keys []input.DispatchKeyEventParams) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		for _, m := range mouse {
			if _, err := cdp.Call(ctx, tg, input.DispatchMouseEvent, m); err != nil {
				return fmt.Errorf("mouse event %s: %w", m.Type, err)
			}
		}
		for _, k := range keys {
			if _, err := cdp.Call(ctx, tg, input.DispatchKeyEvent, k); err != nil {
				return fmt.Errorf("key event %s %s: %w", k.Type, k.Code, err)
			}
		}
		return nil
	})
}

// Click is a move to x, y of the viewport and a press and release of the left button there.
func Click(x, y float64) []input.DispatchMouseEventParams {
	return []input.DispatchMouseEventParams{
		{Type: input.DispatchMouseEventTypeMouseMoved, X: x, Y: y},
		{Type: input.DispatchMouseEventTypeMousePressed, X: x, Y: y, Button: input.MouseButtonLeft, Buttons: 1, ClickCount: 1},
		{Type: input.DispatchMouseEventTypeMouseReleased, X: x, Y: y, Button: input.MouseButtonLeft, ClickCount: 1},
	}
}

// Key is a key's press (or release) as a keyboard of some layout sends it: code is where
// the key is (KeyboardEvent.code), k what it means in the layout (KeyboardEvent.key), vk
// its Windows virtual-key code, modifiers DevTools' bits (1 Alt, 2 Ctrl, 4 Meta, 8 Shift).
func Key(typ input.DispatchKeyEventType, code, k string, vk int64, modifiers int64) input.DispatchKeyEventParams {
	return input.DispatchKeyEventParams{Type: typ, Code: code, Key: k, WindowsVirtualKeyCode: vk, NativeVirtualKeyCode: vk, Modifiers: modifiers}
}

// debianPath is where Debian's package puts the browser (`make chromium`).
const debianPath = "/usr/bin/chromium"

// Path is the browser to run: Debian's, or the first chromium on PATH.
func Path() (string, error) {
	if _, err := os.Stat(debianPath); err == nil {
		return debianPath, nil
	}
	if p, err := exec.LookPath("chromium"); err == nil {
		return p, nil
	}
	return "", fmt.Errorf("chromium is not installed (looked for %s and on PATH): run make chromium", debianPath)
}

// Options start a headless browser (Path) with a fresh profile in the folder, a 1280×800
// window, and nothing of its own on the network: no background requests, no component
// updates, no sync, no QUIC.
func Options(profile string) ([]chromedp.ExecAllocatorOption, error) {
	path, err := Path()
	if err != nil {
		return nil, err
	}
	return append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.NoFirstRun,
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(1280, 800),
	), nil
}

// MustCanvas is Canvas that fails the test when the canvas cannot be read.
func MustCanvas(tb testing.TB, ctx context.Context, sel string) *image.RGBA {
	tb.Helper()
	img, err := Canvas(ctx, sel)
	if err != nil {
		tb.Fatal(err)
	}
	return img
}

// Box is an element's box in the viewport, in CSS pixels.
type Box struct{ Left, Top, Width, Height float64 }

// BoxOf is the box of the first element that sel selects.
func BoxOf(ctx context.Context, sel string) (Box, error) {
	q, _ := json.Marshal(sel)
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](fmt.Sprintf(`JSON.stringify((() => { const r = document.querySelector(%s).getBoundingClientRect(); return {Left: r.left, Top: r.top, Width: r.width, Height: r.height}; })())`, q)))
	if err != nil {
		return Box{}, fmt.Errorf("the box of %s: %w", sel, err)
	}
	var b Box
	if err := json.Unmarshal([]byte(s), &b); err != nil {
		return Box{}, fmt.Errorf("the box of %s: %w", sel, err)
	}
	return b, nil
}
