package picture

import (
	"image"
	"image/color"
	"math"
	"testing"
)

func TestPSNR(t *testing.T) {
	r := image.Rect(0, 0, 4, 4)
	grey := func(v uint8) *image.RGBA {
		img := image.NewRGBA(r)
		for i := range img.Pix {
			img.Pix[i] = v
		}
		return img
	}
	for _, c := range []struct {
		name string
		a, b *image.RGBA
		want float64
	}{
		{"equal", grey(10), grey(10), math.Inf(1)},
		// Every channel off by 255: the mean square error is 255², 0 dB.
		{"opposite", grey(0), grey(255), 0},
		// Off by 1 everywhere: 10·log10(255²) ≈ 48.13 dB.
		{"one off", grey(100), grey(101), 10 * math.Log10(255*255)},
	} {
		if got := PSNR(c.a, c.b, r); math.Abs(got-c.want) > 1e-9 && !(math.IsInf(c.want, 1) && math.IsInf(got, 1)) {
			t.Errorf("%s: PSNR %v, want %v", c.name, got, c.want)
		}
	}
	// Only r counts: a difference outside it does not.
	a, b := grey(50), grey(50)
	b.SetRGBA(3, 3, color.RGBA{0, 0, 0, 255})
	if got := PSNR(a, b, image.Rect(0, 0, 3, 3)); !math.IsInf(got, 1) {
		t.Errorf("a difference outside the rectangle counted: %v", got)
	}
}
