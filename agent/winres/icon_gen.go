//go:build ignore

// icon_gen draws the app's icon, icon.png: a white life ring on a blue tile, the sign for
// help. Run from this folder: go run icon_gen.go. `make agent-resources` turns it, with
// winres.json, into the .syso files go build embeds.
package main

import (
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
)

func main() {
	const size = 256
	img := image.NewNRGBA(image.Rect(0, 0, size, size))
	blue := color.NRGBA{0x1f, 0x6f, 0xeb, 0xff}
	white := color.NRGBA{0xff, 0xff, 0xff, 0xff}
	orange := color.NRGBA{0xf0, 0x88, 0x3e, 0xff}
	c := float64(size-1) / 2
	for y := range size {
		for x := range size {
			dx, dy := float64(x)-c, float64(y)-c
			// Rounded tile: distance outside the inner square of half-width 88.
			qx, qy := math.Max(math.Abs(dx)-88, 0), math.Max(math.Abs(dy)-88, 0)
			if math.Hypot(qx, qy) > 38 {
				continue
			}
			col := blue
			r := math.Hypot(dx, dy)
			if r >= 50 && r <= 96 {
				// The ring, with four orange bands at the diagonals.
				a := math.Mod(math.Atan2(dy, dx)+2*math.Pi, math.Pi/2)
				col = white
				if math.Abs(a-math.Pi/4) < 0.26 {
					col = orange
				}
			}
			img.SetNRGBA(x, y, col)
		}
	}
	f, err := os.Create("icon.png")
	if err != nil {
		panic(err)
	}
	defer f.Close()
	if err := png.Encode(f, img); err != nil {
		panic(err)
	}
}
