package batch

import (
	"fmt"
	"testing"
)

func obj(start, lines int64) ReadObject {
	return ReadObject{Key: fmt.Sprintf("t/partition=0/t+0+%010d.json", start), Start: start, Lines: lines, Size: lines * 10}
}

func TestPartProgressAdvance(t *testing.T) {
	// First run: objects from 100 on, a gap at [120, 130).
	pp, gap := (*PartProgress)(nil).advance([]ReadObject{obj(110, 10), obj(100, 10), obj(130, 5)}, false)
	if pp.Base != 100 || pp.Next != 120 || gap == nil || gap.From != 120 || gap.To != 130 || len(pp.Tail) != 3 {
		t.Fatalf("after run 1: %+v, gap %+v", pp, gap)
	}
	// The late object fills the gap; one more after it.
	pp, gap = pp.advance([]ReadObject{obj(120, 10), obj(135, 5)}, false)
	if pp.Next != 140 || gap != nil || len(pp.Tail) != 5 || pp.Tail[0].Start != 100 {
		t.Fatalf("after run 2: %+v, gap %+v", pp, gap)
	}
	// An object below Base is kept apart and does not move Next.
	pp, _ = pp.advance([]ReadObject{obj(90, 10)}, false)
	if pp.Base != 100 || pp.Next != 140 || len(pp.Below) != 1 || pp.Below[0].Start != 90 {
		t.Fatalf("after run 3: %+v", pp)
	}
	// Many objects: the tail keeps the last relist below Next.
	var many []ReadObject
	for s := int64(140); s < 140+100*2; s += 2 {
		many = append(many, obj(s, 2))
	}
	pp, gap = pp.advance(many, false)
	if pp.Next != 340 || gap != nil || len(pp.Tail) != relist || pp.Tail[0].Start != 340-2*relist {
		t.Fatalf("after run 4: next %d, tail %d from %d, gap %v", pp.Next, len(pp.Tail), pp.Tail[0].Start, gap)
	}
	// An object stored again with more lines (a re-cut) moves Next past
	// its new end.
	pp, _ = pp.advance([]ReadObject{obj(338, 5)}, false)
	if pp.Next != 343 {
		t.Fatalf("after the re-cut: next %d, want 343", pp.Next)
	}
	// A gap closed on purpose: Next moves past it, and it is reported.
	pp, gap = pp.advance([]ReadObject{obj(350, 5)}, true)
	if pp.Next != 355 || gap == nil || gap.From != 343 || gap.To != 350 || pp.Tail[len(pp.Tail)-1].Start != 350 {
		t.Fatalf("closing the gap: next %d, gap %v", pp.Next, gap)
	}
	if pp, gap = pp.advance(nil, false); gap != nil || pp.Next != 355 {
		t.Fatalf("after the gap was closed: next %d, gap %v", pp.Next, gap)
	}
}
