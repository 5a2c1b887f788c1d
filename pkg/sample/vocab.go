package sample

// The vocabulary the generator draws from. These are read-only tables; the
// generator copies what it reorders.

// Categories are the categories of the original Pinterest data set, most
// popular first before the per-seed shuffle.
var categories = []string{
	"mens-fashion", "diy-and-crafts", "art", "beauty", "christmas", "education",
	"event-planning", "finance", "home-decor", "quotes", "travel", "tattoos", "vehicles",
}

// countries are Faker-style country names as in the original geolocation
// table. "Aruba" and "Benin" are left out on purpose: the hand-written lines
// of the fixture use them for countries the generator never produces.
var countries = []string{
	"Afghanistan", "Albania", "Algeria", "American Samoa", "Andorra", "Angola",
	"Antarctica (the territory South of 60 deg S)", "Argentina", "Armenia", "Australia",
	"Austria", "Azerbaijan", "Bahamas", "Bangladesh", "Barbados", "Belgium", "Bhutan",
	"Bolivia", "Botswana", "Brazil", "Bulgaria", "Cambodia", "Cameroon", "Canada",
	"Chile", "China", "Colombia", "Costa Rica", "Côte d'Ivoire", "Croatia", "Curaçao",
	"Cyprus", "Denmark", "Ecuador", "Egypt", "Estonia", "Ethiopia", "Fiji", "Finland",
	"France", "Germany", "Ghana", "Greece", "Guatemala", "Hungary", "Iceland", "India",
	"Indonesia", "Ireland", "Israel", "Italy", "Jamaica", "Japan", "Kenya", "Latvia",
	"Lebanon", "Maldives", "Mexico", "Morocco", "Nepal", "Netherlands", "New Zealand",
	"Nigeria", "Norway", "Peru", "Philippines", "Poland", "Portugal", "Réunion",
	"Romania", "Saint Barthélemy", "Senegal", "Singapore", "Spain", "Sweden", "Turkey",
	"Uganda", "United Kingdom", "Vietnam", "Zimbabwe", "Åland Islands",
}

var firstNames = []string{
	"Abigail", "Aaron", "Alexander", "Alexandra", "Andrea", "Anna", "Benjamin", "Brittany",
	"Charles", "Chloé", "Christopher", "Daniel", "David", "Dolores", "Elizabeth", "Emily",
	"Emma", "Eric", "François", "Gabriel", "Hannah", "Isabella", "Jack", "James", "Jennifer",
	"Jessica", "John", "José", "Joshua", "Julia", "Karen", "Kevin", "Laura", "Linda", "Lucas",
	"María", "Mark", "Matthew", "Megan", "Michael", "Michelle", "Mohammed", "Natalie", "Nicole",
	"Noah", "Olivia", "Patrick", "Rachel", "Rebecca", "Robert", "Ryan", "Samantha", "Sarah",
	"Sophia", "Stephanie", "Thomas", "Tyler", "Victoria", "William", "Zoë", "Åsa", "Søren",
	"Łukasz", "Ngọc", "Yuki", "Wei", "Ольга", "Δημήτρης",
}

var lastNames = []string{
	"Ali", "Allen", "Anderson", "Bailey", "Baker", "Brown", "Campbell", "Carter", "Chen",
	"Clark", "Collins", "Cruz", "Davis", "Edwards", "Evans", "Flores", "Garcia", "Gómez",
	"Green", "Hall", "Harris", "Hernández", "Hill", "Jackson", "Johnson", "Jones", "Kim",
	"King", "Lee", "Lewis", "López", "Martin", "Martinez", "Miller", "Mitchell", "Moore",
	"Müller", "Nguyen", "Nelson", "O'Brien", "Parker", "Patel", "Perez", "Phillips",
	"Roberts", "Robinson", "Rodriguez", "Scott", "Smith", "Taylor", "Thomas", "Thompson",
	"Turner", "Walker", "White", "Williams", "Wilson", "Wright", "Young", "Ødegård",
	"Sánchez", "Yılmaz", "Nowak", "王", "Иванова",
}

// Poster names are built from a head and a tail.
var posterHeads = []string{
	"The Crafty", "Simply", "Oh So", "Pretty", "Bloom &", "Little", "Modern", "Happy",
	"Vintage", "Wanderlust", "Cozy", "Bright", "Petite", "Golden", "Studio", "Urban",
	"Maison", "Wild", "Sweet", "Brave", "Casa", "Mon", "Tiny", "Daily", "Smart", "Mindful",
	"Lovely", "Rustic", "Bohème", "Nordic", "Café", "Saturday",
}

var posterTails = []string{
	"Mom", "Home", "Decor", "Style", "Ink", "Money", "Journal", "Nest", "Makers", "Designs",
	"Travels", "Garage", "Quotes", "Beauty Co", "Kitchen", "Atelier", "Studio", "Blog",
	"Life", "Finds", "Crafts", "Planner", "Class", "Wheels", "Gallery", "Closet", "Events",
	"Rides", "Notes", "Hacks", "Lab", "Corner", "Diary ✨", "Déco", "Voyages 🌍",
}

// topicWords gives each category a few words for titles, descriptions and tags.
var topicWords = map[string][]string{
	"mens-fashion":   {"Men's Outfits", "Street Style", "Casual Look", "Suit Ideas", "Sneakers", "Beard Styles", "Winter Coats"},
	"diy-and-crafts": {"Summer Crafts For Kids", "Toddler Crafts", "Paper Flowers", "Mason Jar Ideas", "Macramé", "Upcycling", "Glitter Slime"},
	"art":            {"Watercolor", "Sketchbook", "Abstract Painting", "Portrait Drawing", "Street Art", "Linocut", "Acrylic Pour"},
	"beauty":         {"Makeup Tutorial", "Skin Care", "Nail Art", "Hair Styles", "Natural Beauty", "Eyeliner", "Bridal Makeup"},
	"christmas":      {"Christmas Tree", "Advent Calendar", "Holiday Baking", "Stocking Stuffers", "Wreath Ideas", "Secret Santa", "Gingerbread"},
	"education":      {"Classroom Ideas", "Math Games", "Homeschool", "Teacher Hacks", "Reading Corner", "STEM Activities", "Study Tips"},
	"event-planning": {"Wedding Ideas", "Birthday Party", "Baby Shower", "Party Decor", "Table Setting", "Bachelorette", "Graduation"},
	"finance":        {"Budget Planner", "Saving Money", "Debt Free", "Side Hustle", "Investing 101", "Frugal Living", "Money Tips"},
	"home-decor":     {"Living Room", "Boho Bedroom", "Farmhouse Kitchen", "Gallery Wall", "Small Spaces", "Scandi Décor", "Plant Shelf"},
	"quotes":         {"Inspirational Quotes", "Love Quotes", "Motivation", "Funny Quotes", "Life Lessons", "Self Love", "Good Vibes"},
	"travel":         {"Travel Tips", "Road Trip", "Beach Vacation", "Bucket List", "Packing List", "Hidden Gems", "日本の旅"},
	"tattoos":        {"Small Tattoos", "Fine Line", "Sleeve Ideas", "Floral Tattoo", "Minimalist Ink", "Tattoo Lettering", "Matching Tattoos"},
	"vehicles":       {"Classic Cars", "Camper Van", "Motorcycle", "Car Detailing", "Off Road", "Muscle Cars", "Van Life"},
}

var titleOpeners = []string{
	"Easy", "Best", "25+", "Cute", "DIY", "Simple", "How to Make", "The Ultimate Guide to",
	"10 Ways to Use", "Gorgeous", "Cheap", "Quick", "Creative", "Amazing", "Très Chic",
}

var titleClosers = []string{
	"", "", "", " for Beginners", " on a Budget", " Ideas", " You Need to Try", " | Step by Step",
	" — Part 2", " (2021 Edition)", " for Kids", " That Wow",
}

var emojis = []string{"✨", "🎄", "❤️", "🌸", "🔥", "💅", "🚐", "📚", "💸", "🏡", "😍", "🙌🏽", "🇫🇷", "👨‍👩‍👧"}

var descriptionSentences = []string{
	"Find and save ideas about %s on Pinterest.",
	"Here are the best %s ideas we found this year.",
	"Love these %s! Click through for the full tutorial.",
	"%s made simple — a step-by-step guide.",
	"Our favourite %s, curated for you.",
	"Découvrez nos idées %s.",
	"Pin it now, try it later: %s.",
}
