// Package picture compares pictures in tests of the remote screen: what a canvas shows
// against what the display holds.
package picture

import (
	"image"
	"math"
)

// PSNR compares two pictures within r (peak signal-to-noise ratio over red, green and
// blue, in dB; +Inf when equal): above 30 dB a JPEG looks like its original.
func PSNR(a, b image.Image, r image.Rectangle) float64 {
	var sum float64
	n := 0
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			ar, ag, ab, _ := a.At(x, y).RGBA()
			br, bg, bb, _ := b.At(x, y).RGBA()
			for _, d := range []float64{float64(ar>>8) - float64(br>>8), float64(ag>>8) - float64(bg>>8), float64(ab>>8) - float64(bb>>8)} {
				sum += d * d
			}
			n += 3
		}
	}
	if sum == 0 {
		return math.Inf(1)
	}
	return 10 * math.Log10(255*255/(sum/float64(n)))
}
