package clean

// The slots a table's field function gives besides a column's.
const (
	slotDropped = -1 // a key of data.md the table drops (pin's downloaded)
	slotUnknown = -2 // a key the table does not know
)

// MaxUnknownKeys bounds the distinct unknown key names one Cleaner counts by
// name, so that records with ever new keys cannot grow its memory without
// bound; the records with other unknown keys are counted under
// OtherUnknownKeys.
const MaxUnknownKeys = 64

// OtherUnknownKeys is the name under which the unknown keys beyond the first
// MaxUnknownKeys are counted.
const OtherUnknownKeys = "(other)"

// keyCounter counts the records that hold each unknown key. A key is noted
// while a record is scanned and counted when the scan succeeds, once per
// record however often the record repeats it. Noting a key already known to
// the counter does not allocate: the names are compared to the key's bytes.
type keyCounter struct {
	names   []string
	n       []int64 // records by names' index; the last is OtherUnknownKeys once full
	pending []int   // indexes noted in the record being scanned
}

func (k *keyCounter) begin() { k.pending = k.pending[:0] }

func (k *keyCounter) note(key []byte) {
	i := k.index(key)
	for _, p := range k.pending {
		if p == i {
			return
		}
	}
	k.pending = append(k.pending, i)
}

func (k *keyCounter) index(key []byte) int {
	for i, name := range k.names {
		if name == string(key) {
			return i
		}
	}
	if len(k.names) >= MaxUnknownKeys {
		if len(k.names) == MaxUnknownKeys {
			k.names = append(k.names, OtherUnknownKeys)
			k.n = append(k.n, 0)
		}
		return MaxUnknownKeys
	}
	k.names = append(k.names, string(key))
	k.n = append(k.n, 0)
	return len(k.names) - 1
}

func (k *keyCounter) commit() {
	for _, i := range k.pending {
		k.n[i]++
	}
	k.pending = k.pending[:0]
}

// counts returns the counts by name, the zero ones left out (a key spelled
// like OtherUnknownKeys adds to that entry).
func (k *keyCounter) counts() map[string]int64 {
	m := make(map[string]int64, len(k.names))
	for i, name := range k.names {
		if k.n[i] > 0 {
			m[name] += k.n[i]
		}
	}
	return m
}
