package main

import (
	"fmt"
	"image/color"
	"math"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

var (
	emuColor    = color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff}
	kernelColor = color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff}
)

// powerTicks labels a log10 axis with 10^k ns.
type powerTicks struct{}

func (powerTicks) Ticks(min, max float64) []plot.Tick {
	var ts []plot.Tick
	for k := math.Floor(min); k <= math.Ceil(max); k++ {
		ts = append(ts, plot.Tick{Value: k, Label: strconv.FormatFloat(math.Pow(10, k), 'f', -1, 64)})
	}
	return ts
}

// opsChart draws ns/op per operation, emulator and kernel side by side,
// on a logarithmic axis.
func opsChart(r *report, path string) error {
	ops := r.opNames()
	var ev, kv plotter.Values
	for _, op := range ops {
		e, _ := r.res.median("Ops/emu/"+op, "ns/op")
		k, ok := r.res.median("Ops/kernel/"+op, "ns/op")
		ev = append(ev, log10(math.Max(e, 1)))
		if !ok {
			k = 1
		}
		kv = append(kv, log10(math.Max(k, 1)))
	}
	p := plot.New()
	p.Title.Text = "ns/op per operation (log scale; lower is faster)"
	p.Y.Label.Text = "ns/op"
	p.Y.Tick.Marker = powerTicks{}
	w := vg.Points(7)
	eb, err := plotter.NewBarChart(ev, w)
	if err != nil {
		return err
	}
	eb.Color, eb.LineStyle.Width = emuColor, 0
	eb.Offset = -w / 2
	kb, err := plotter.NewBarChart(kv, w)
	if err != nil {
		return err
	}
	kb.Color, kb.LineStyle.Width = kernelColor, 0
	kb.Offset = w / 2
	p.Add(eb, kb)
	p.Legend.Add("emulator", eb)
	p.Legend.Add("kernel", kb)
	p.Legend.Top = true
	p.NominalX(ops...)
	p.X.Tick.Label.Rotation = math.Pi / 3
	p.X.Tick.Label.XAlign = -1
	p.X.Tick.Label.YAlign = -0.5
	// Bars are log10(ns) from 0 (1 ns): the kept get_keyring_id answers
	// take under 10 ns.
	p.Y.Min = 0
	return p.Save(vg.Length(len(ops))*0.5*vg.Inch+2*vg.Inch, 5*vg.Inch, path)
}

// sizeChart draws search time against keyring size, both axes logarithmic.
func sizeChart(r *report, path string) error {
	p := plot.New()
	p.Title.Text = "KEYCTL_SEARCH against keyring size"
	p.X.Label.Text = "keys in the keyring"
	p.Y.Label.Text = "ns/op"
	p.X.Scale, p.Y.Scale = plot.LogScale{}, plot.LogScale{}
	p.X.Tick.Marker, p.Y.Tick.Marker = plot.LogTicks{Prec: -1}, plot.LogTicks{Prec: -1}
	for _, side := range []struct {
		name, label string
		c           color.Color
	}{{"emu", "emulator", emuColor}, {"kernel", "kernel", kernelColor}} {
		var pts plotter.XYs
		for _, n := range sizes {
			if v, ok := r.res.median(fmt.Sprintf("SearchSize/%s/n=%d", side.name, n), "ns/op"); ok {
				pts = append(pts, plotter.XY{X: float64(n), Y: v})
			}
		}
		if len(pts) == 0 {
			continue
		}
		l, s, err := plotter.NewLinePoints(pts)
		if err != nil {
			return err
		}
		l.Color, s.Color = side.c, side.c
		p.Add(l, s)
		p.Legend.Add(side.label, l, s)
	}
	p.Legend.Top = true
	p.Legend.Left = true
	return p.Save(6*vg.Inch, 4*vg.Inch, path)
}
