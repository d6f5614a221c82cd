package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/adhoc-support/adhoc-support/agent/app"
	"github.com/adhoc-support/adhoc-support/agent/winos"
)

// consoleUI is the app's window: a console, which Windows opens for the exe. Go writes to
// it with WriteConsoleW, so umlauts come out right whatever the code page.
type consoleUI struct {
	in *bufio.Reader
}

func newConsoleUI() *consoleUI { return &consoleUI{in: bufio.NewReader(os.Stdin)} }

func (c *consoleUI) Say(text string) { fmt.Println(text); fmt.Println() }

func (c *consoleUI) Ask(prompt string) (string, error) {
	fmt.Print(prompt, " ")
	line, err := c.in.ReadString('\n')
	if err != nil && line == "" {
		if err == io.EOF {
			return "", io.EOF
		}
		return "", fmt.Errorf("read answer: %w", err)
	}
	fmt.Println()
	return strings.TrimRight(line, "\r\n"), nil
}

// logUI is the service's UI: nobody watches a service, so what it says goes to the event
// log.
type logUI struct{ osys *winos.OS }

func (l logUI) Say(text string) { l.osys.Log(app.LogInfo, text) }

func (l logUI) Ask(string) (string, error) { return "", io.EOF }
