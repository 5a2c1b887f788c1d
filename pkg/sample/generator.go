package sample

import (
	"encoding/hex"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Placeholders of the source tables that mean "no data" (cleaning.md).
const (
	NoTitle            = "No Title Data Available"
	NoDescriptionStory = "No description available Story format"
	NoDescription      = "No description available"
	UserInfoError      = "User Info Error"
	NoTags             = "N,o, ,T,a,g,s, ,A,v,a,i,l,a,b,l,e"
	ImageSrcError      = "Image src error."
)

// The values of is_image_or_video.
const (
	KindImage = "image"
	KindVideo = "video"
	KindStory = "multi-video(story page format)"
)

// Rates of the source-level dirt, as probabilities per row (or per eligible
// field for PadRate). They are what the generator aims at; over 10,000 rows
// the observed rates are within a few tenths of a percent of them.
const (
	StoryRate                  = 0.06 // is_image_or_video = multi-video(story page format)
	VideoRate                  = 0.24 // is_image_or_video = video; the rest are images
	StoryDescriptionRate       = 0.80 // of story pins: description = NoDescriptionStory
	TitlePlaceholderRate       = 0.04 // title = NoTitle
	DescriptionPlaceholderRate = 0.03 // description = NoDescription (pins without the story placeholder)
	UserInfoErrorRate          = 0.05 // poster_name and follower_count both UserInfoError
	FollowerErrorOnlyRate      = 0.01 // follower_count alone UserInfoError
	FollowerJunkRate           = 0.01 // follower_count is unparseable junk ("1.2 M", "-5", "k", ...)
	NoTagsRate                 = 0.07 // tag_list = NoTags
	StoryImageSrcErrorRate     = 0.50 // of story pins: image_src = ImageSrcError
	ImageSrcErrorRate          = 0.03 // of other pins: image_src = ImageSrcError
	NoSlashSaveLocationRate    = 0.02 // save_location without '/' ("Local save in art")
	PadRate                    = 0.03 // per string field: leading/trailing spaces, tabs or NBSP
	EmojiTitleRate             = 0.10 // title ends with an emoji
	MissingFirstNameRate       = 0.02 // first_name NULL only
	MissingLastNameRate        = 0.02 // last_name NULL only
	MissingBothNamesRate       = 0.005
	BadCoordinateRate          = 0.01 // latitude or longitude out of range (lat 95, lon -200, ...)
	BadAgeRate                 = 0.01 // age out of [0, 130] (-1, 150, ...)
)

// Time ranges of the generated timestamps, [start, end).
var (
	geoStart    = time.Date(2015, 1, 1, 0, 0, 0, 0, time.UTC)
	geoEnd      = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	joinedStart = time.Date(2014, 1, 1, 0, 0, 0, 0, time.UTC)
	joinedEnd   = time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC)
)

// Pin is one row of pinterest_data. Every string is non-NULL.
type Pin struct {
	Index          int
	UniqueID       string
	Title          string
	Description    string
	PosterName     string
	FollowerCount  string
	TagList        string
	IsImageOrVideo string
	ImageSrc       string
	Downloaded     int
	SaveLocation   string
	Category       string
}

// Geo is one row of geolocation_data. Timestamp is a valid DATETIME (UTC,
// whole seconds); Latitude and Longitude may be out of range.
type Geo struct {
	Ind       int
	Timestamp time.Time
	Latitude  float64
	Longitude float64
	Country   string
}

// User is one row of user_data. An empty FirstName or LastName means NULL.
// DateJoined is UTC, whole seconds.
type User struct {
	Ind        int
	FirstName  string
	LastName   string
	Age        int
	DateJoined time.Time
}

// Row is row i of the three tables: the same post.
type Row struct {
	Pin  Pin
	Geo  Geo
	User User
}

// Generator makes the rows of one seed. It is immutable after New and safe
// for concurrent use.
type Generator struct {
	seed        int64
	countries   []string
	countryCum  []float64
	categories  []string
	categoryCum []float64
	posters     []poster
	posterCum   []float64
}

type poster struct {
	name      string
	followers string // the follower_count text this poster shows
}

// Sizes and skews of the generated distributions.
const (
	posterCount    = 1200
	countrySkew    = 1.0 // Zipf exponent over countries
	categorySkew   = 0.7
	posterSkew     = 1.0
	celebrityCount = 5
)

// PRNG streams: each use of the seed draws from its own stream.
const (
	streamRow uint64 = iota + 1
	streamDirty
	streamSetup
	streamPosts
)

// New returns the generator of seed. It does no I/O.
func New(seed int64) *Generator {
	r := newRand(seed, streamSetup, 0)
	g := &Generator{seed: seed}

	g.countries = append([]string(nil), countries...)
	r.Shuffle(len(g.countries), func(a, b int) { g.countries[a], g.countries[b] = g.countries[b], g.countries[a] })
	g.countryCum = zipfCum(len(g.countries), countrySkew)

	g.categories = append([]string(nil), categories...)
	r.Shuffle(len(g.categories), func(a, b int) { g.categories[a], g.categories[b] = g.categories[b], g.categories[a] })
	g.categoryCum = zipfCum(len(g.categories), categorySkew)

	g.posters = makePosters(r)
	g.posterCum = zipfCum(len(g.posters), posterSkew)
	return g
}

// Seed returns the seed of g.
func (g *Generator) Seed() int64 { return g.seed }

// makePosters builds the poster pool, most active poster first. A few
// "celebrities" among the most active posters share the two largest follower
// counts, each written in a different form, so the maximum per country ties.
func makePosters(r *rand.Rand) []poster {
	seen := make(map[string]bool, posterCount)
	ps := make([]poster, 0, posterCount)
	for len(ps) < posterCount {
		name := posterHeads[r.IntN(len(posterHeads))] + " " + posterTails[r.IntN(len(posterTails))]
		if seen[name] {
			name += " " + strconv.Itoa(r.IntN(1000))
		}
		if seen[name] {
			continue
		}
		seen[name] = true
		// log10(followers) ~ N(3.9, 1.1), clipped to [0, 7]: 1 .. 10M, below
		// the celebrities.
		lg := min(max(3.9+1.1*r.NormFloat64(), 0), 7)
		ps = append(ps, poster{name: name, followers: followerText(r, int64(math.Pow(10, lg)))})
	}
	// Celebrities: 50M twice and 12M three times, at popular ranks.
	celeb := []struct {
		rank int
		text string
	}{{2, "50M"}, {6, "50,000,000"}, {4, "12M"}, {9, "12000k"}, {15, "12.0M"}}
	for _, c := range celeb[:celebrityCount] {
		ps[c.rank].followers = c.text
	}
	return ps
}

// followerText writes n as Pinterest shows it: "892", "2.5k", "124k", "1M",
// "1.2M", and sometimes with thousands separators ("10,321").
func followerText(r *rand.Rand, n int64) string {
	switch {
	case n < 1000:
		return strconv.FormatInt(n, 10)
	case r.IntN(20) == 0 && n < 1_000_000:
		return withCommas(n)
	case n < 10_000:
		return trimZero(strconv.FormatFloat(float64(n/100)/10, 'f', 1, 64)) + "k"
	case n < 1_000_000:
		return strconv.FormatInt(n/1000, 10) + "k"
	default:
		return trimZero(strconv.FormatFloat(float64(n/100_000)/10, 'f', 1, 64)) + "M"
	}
}

func trimZero(s string) string { return strings.TrimSuffix(s, ".0") }

func withCommas(n int64) string {
	s := strconv.FormatInt(n, 10)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// followerJunk are unparseable follower_count values (cleaning.md).
var followerJunk = []string{"abc", "-5", "+5", "1e3", "1.2 M", "12.5.3", "k", "N/A", "—"}

// Row returns row i. It depends on the seed and i alone, not on the order or
// number of calls.
func (g *Generator) Row(i int) Row {
	r := newRand(g.seed, streamRow, i)
	return Row{Pin: g.pin(r, i), Geo: g.geo(r, i), User: g.user(r, i)}
}

func (g *Generator) pin(r *rand.Rand, i int) Pin {
	cat := g.categories[pick(r, g.categoryCum)]
	p := Pin{Index: i, UniqueID: uuid(r), Category: cat, Downloaded: 1}

	u := r.Float64()
	switch {
	case u < StoryRate:
		p.IsImageOrVideo = KindStory
	case u < StoryRate+VideoRate:
		p.IsImageOrVideo = KindVideo
	default:
		p.IsImageOrVideo = KindImage
	}
	story := p.IsImageOrVideo == KindStory
	words := topicWords[cat]

	if r.Float64() < TitlePlaceholderRate {
		p.Title = NoTitle
	} else {
		p.Title = titleOpeners[r.IntN(len(titleOpeners))] + " " + words[r.IntN(len(words))] +
			titleClosers[r.IntN(len(titleClosers))]
		if r.Float64() < EmojiTitleRate {
			p.Title += " " + emojis[r.IntN(len(emojis))]
		}
	}

	switch {
	case story && r.Float64() < StoryDescriptionRate:
		p.Description = NoDescriptionStory
	case r.Float64() < DescriptionPlaceholderRate:
		p.Description = NoDescription
	default:
		p.Description = fmt.Sprintf(descriptionSentences[r.IntN(len(descriptionSentences))], words[r.IntN(len(words))])
		if r.IntN(4) == 0 {
			p.Description += " " + emojis[r.IntN(len(emojis))]
		}
	}

	ps := g.posters[pick(r, g.posterCum)]
	p.PosterName, p.FollowerCount = ps.name, ps.followers
	u = r.Float64()
	switch {
	case u < UserInfoErrorRate:
		p.PosterName, p.FollowerCount = UserInfoError, UserInfoError
	case u < UserInfoErrorRate+FollowerErrorOnlyRate:
		p.FollowerCount = UserInfoError
	case u < UserInfoErrorRate+FollowerErrorOnlyRate+FollowerJunkRate:
		p.FollowerCount = followerJunk[r.IntN(len(followerJunk))]
	}

	if r.Float64() < NoTagsRate {
		p.TagList = NoTags
	} else {
		n := 2 + r.IntN(4)
		tags := make([]string, n)
		for k := range tags {
			tags[k] = words[r.IntN(len(words))]
		}
		p.TagList = strings.Join(tags, ",")
	}

	srcErr := ImageSrcErrorRate
	if story {
		srcErr = StoryImageSrcErrorRate
	}
	if r.Float64() < srcErr {
		p.ImageSrc, p.Downloaded = ImageSrcError, 0
	} else {
		h := make([]byte, 16)
		for k := range h {
			h[k] = byte(r.Uint32())
		}
		x := hex.EncodeToString(h)
		ext := ".jpg"
		if r.IntN(4) == 0 {
			ext = ".png"
		}
		p.ImageSrc = "https://i.pinimg.com/originals/" + x[0:2] + "/" + x[2:4] + "/" + x[4:6] + "/" + x + ext
	}

	if r.Float64() < NoSlashSaveLocationRate {
		p.SaveLocation = "Local save in " + cat
	} else {
		p.SaveLocation = "Local save in /data/" + cat
	}

	p.Title = pad(r, p.Title)
	p.Description = pad(r, p.Description)
	p.PosterName = pad(r, p.PosterName)
	p.FollowerCount = pad(r, p.FollowerCount)
	p.TagList = pad(r, p.TagList)
	return p
}

func (g *Generator) geo(r *rand.Rand, i int) Geo {
	gr := Geo{
		Ind:       i,
		Timestamp: randTime(r, geoStart, geoEnd),
		Latitude:  round4(r.Float64()*180 - 90),
		Longitude: round4(r.Float64()*360 - 180),
		Country:   g.countries[pick(r, g.countryCum)],
	}
	if r.Float64() < BadCoordinateRate {
		switch r.IntN(4) {
		case 0:
			gr.Latitude = 95
		case 1:
			gr.Latitude = -90.5
		case 2:
			gr.Longitude = -200
		default:
			gr.Longitude = 180.0001
		}
	}
	gr.Country = pad(r, gr.Country)
	return gr
}

func (g *Generator) user(r *rand.Rand, i int) User {
	u := User{
		Ind:        i,
		FirstName:  firstNames[r.IntN(len(firstNames))],
		LastName:   lastNames[r.IntN(len(lastNames))],
		DateJoined: randTime(r, joinedStart, joinedEnd),
	}
	switch x := r.Float64(); {
	case x < MissingFirstNameRate:
		u.FirstName = ""
	case x < MissingFirstNameRate+MissingLastNameRate:
		u.LastName = ""
	case x < MissingFirstNameRate+MissingLastNameRate+MissingBothNamesRate:
		u.FirstName, u.LastName = "", ""
	}
	if r.Float64() < BadAgeRate {
		u.Age = []int{-1, 150, 131, -20}[r.IntN(4)]
	} else {
		switch x := r.Float64(); {
		case x < 0.06:
			u.Age = 13 + r.IntN(5)
		case x < 0.38:
			u.Age = 18 + r.IntN(7)
		case x < 0.70:
			u.Age = 25 + r.IntN(11)
		case x < 0.88:
			u.Age = 36 + r.IntN(15)
		default:
			u.Age = 51 + r.IntN(30)
		}
	}
	if u.FirstName != "" {
		u.FirstName = pad(r, u.FirstName)
	}
	if u.LastName != "" {
		u.LastName = pad(r, u.LastName)
	}
	return u
}

// Posts returns the row numbers the original emulator would send: count
// draws with replacement from [0, rows), deterministic in seed. It returns
// nil when rows or count is not positive.
func Posts(seed int64, rows, count int) []int {
	if rows <= 0 || count <= 0 {
		return nil
	}
	r := newRand(seed, streamPosts, 0)
	out := make([]int, count)
	for k := range out {
		out[k] = r.IntN(rows)
	}
	return out
}

// pads are the white space put around padded strings: ASCII space, tab,
// NBSP (U+00A0) and the ideographic space (U+3000).
var pads = []string{" ", "  ", "\t", "\u00a0", " \u00a0", "\u3000", "\t "}

func pad(r *rand.Rand, s string) string {
	if r.Float64() >= PadRate {
		return s
	}
	switch r.IntN(3) {
	case 0:
		return pads[r.IntN(len(pads))] + s
	case 1:
		return s + pads[r.IntN(len(pads))]
	default:
		return pads[r.IntN(len(pads))] + s + pads[r.IntN(len(pads))]
	}
}

func round4(x float64) float64 { return math.Round(x*1e4) / 1e4 }

func randTime(r *rand.Rand, start, end time.Time) time.Time {
	span := int64(end.Sub(start) / time.Second)
	return start.Add(time.Duration(r.Int64N(span)) * time.Second)
}

func uuid(r *rand.Rand) string {
	var b [16]byte
	for k := range b {
		b[k] = byte(r.Uint32())
	}
	b[6] = b[6]&0x0f | 0x40 // version 4
	b[8] = b[8]&0x3f | 0x80 // RFC 4122 variant
	x := hex.EncodeToString(b[:])
	return x[0:8] + "-" + x[8:12] + "-" + x[12:16] + "-" + x[16:20] + "-" + x[20:32]
}

// zipfCum returns the cumulative Zipf weights 1/(k+1)^s of n items.
func zipfCum(n int, s float64) []float64 {
	cum := make([]float64, n)
	t := 0.0
	for k := range cum {
		t += 1 / math.Pow(float64(k+1), s)
		cum[k] = t
	}
	return cum
}

// pick draws an index from cumulative weights.
func pick(r *rand.Rand, cum []float64) int {
	k := sort.SearchFloat64s(cum, r.Float64()*cum[len(cum)-1])
	return min(k, len(cum)-1)
}

// newRand returns the PRNG of (seed, stream, i): a PCG whose two seed words
// are mixed with SplitMix64, so neighbouring rows get unrelated streams.
func newRand(seed int64, stream uint64, i int) *rand.Rand {
	a := splitmix(uint64(seed) ^ splitmix(stream))
	b := splitmix(a ^ splitmix(uint64(i)+0x632be59bd9b4e019))
	return rand.New(rand.NewPCG(a, b))
}

func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}
