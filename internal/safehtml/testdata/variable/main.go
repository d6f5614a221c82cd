// Command variable must not compile: it hands Builder.HTML a string variable, which would
// let a value from outside the source become markup (TestHTMLTakesOnlyConstants).
package main

import (
	"os"

	"github.com/adhoc-support/adhoc-support/internal/safehtml"
)

func main() {
	var b safehtml.Builder
	fromOutside := os.Getenv("NAME")
	b.HTML(fromOutside)
	println(b.String())
}
