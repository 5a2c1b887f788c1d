package clean

import (
	"fmt"
	"testing"
)

// benchLines builds n realistic raw records with gen(i).
func benchLines(n int, gen func(i int) string) [][]byte {
	lines := make([][]byte, n)
	for i := range lines {
		lines[i] = []byte(gen(i))
	}
	return lines
}

var benchCategories = []string{"mens-fashion", "diy-and-crafts", "travel", "quotes", "tattoos", "christmas", "beauty", "vehicles"}

func benchPinLine(i int) string {
	cat := benchCategories[i%len(benchCategories)]
	title := "Summer Crafts For Kids: 25 easy ideas you will love"
	desc := "Get inspired by these easy and fun summer crafts for kids, from paper plates to painted rocks; great for toddlers and preschoolers alike."
	follower := []string{`"124k"`, `"1.2M"`, `"892"`, `"User Info Error"`, `"10,321"`, `5000`}[i%6]
	tags := "Summer Crafts For Kids,Toddler Crafts,Preschool Crafts,Craft Activities For Kids,Diy For Kids"
	if i%7 == 0 {
		title = "No Title Data Available"
		desc = "No description available Story format"
		tags = "N,o, ,T,a,g,s, ,A,v,a,i,l,a,b,l,e"
	}
	return fmt.Sprintf(`{"index":%d,"unique_id":"fbe53c66-3442-4773-b19e-d3ec6f5%05d","title":%q,"description":%q,`+
		`"poster_name":"Crafty Morning","follower_count":%s,"tag_list":%q,"is_image_or_video":"image",`+
		`"image_src":"https://i.pinimg.com/originals/b3/bc/e2/b3bce2964e8c8975387b39660eed5f16.png","downloaded":1,`+
		`"save_location":"Local save in /data/%s","category":%q}`,
		i*7%11000, i, title, desc, follower, tags, cat, cat)
}

func benchGeoLine(i int) string {
	countries := []string{"Albania", "Maldives", "Timor-Leste", "Côte d'Ivoire", "United States of America"}
	if i%3 == 0 { // as read from Kinesis: every field a string
		return fmt.Sprintf(`{"ind":"%d","timestamp":"2020-08-28 03:52:47","latitude":"-89.9787","longitude":"-173.293","country":%q}`,
			i*7%11000, countries[i%len(countries)])
	}
	return fmt.Sprintf(`{"ind":%d,"timestamp":"2019-%02d-%02d %02d:%02d:%02d","latitude":%.4f,"longitude":%.3f,"country":%q}`,
		i*7%11000, i%12+1, i%28+1, i%24, i%60, (i*7)%60, float64(i%180)-89.5, float64(i%360)-179.5, countries[i%len(countries)])
}

func benchUserLine(i int) string {
	firsts := []string{"Abigail", "Alexandria", "Christopher", "Dylan", "Zoë"}
	lasts := []string{"Ali", "Alvarado", "Murphy", "Nguyen", "O'Neil"}
	return fmt.Sprintf(`{"ind":%d,"first_name":%q,"last_name":%q,"age":%d,"date_joined":"2015-%02d-%02d %02d:%02d:%02d"}`,
		i*7%11000, firsts[i%len(firsts)], lasts[i%len(lasts)], 18+i%60, i%12+1, i%28+1, i%24, i%60, (i*3)%60)
}

func BenchmarkCleanPin(b *testing.B) {
	lines := benchLines(1024, benchPinLine)
	c := New()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := c.Pin(lines[i%len(lines)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

func BenchmarkCleanGeo(b *testing.B) {
	lines := benchLines(1024, benchGeoLine)
	c := New()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := c.Geo(lines[i%len(lines)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

func BenchmarkCleanUser(b *testing.B) {
	lines := benchLines(1024, benchUserLine)
	c := New()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := c.User(lines[i%len(lines)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
