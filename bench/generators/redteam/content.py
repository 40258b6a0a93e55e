"""Prompt and answer material for the red-team traffic generator.

Everything here is built from slot lists, so prompts are combinatorially varied and no dataset's
strings are copied. Each `*_task` returns (text, answer_kind, answer_tokens_mean).
"""
import random

NAMES = ("Maya Liam Sofia Noah Aisha Mateo Yuki Ethan Priya Lucas Chloe Omar Elena Jonas Fatima Leo Zara "
         "Hugo Amara Ivan Nora Kenji Lina Diego Hana Samir Ava Tomas Ines Felix Grace Ravi Mila Oscar").split()
ITEMS = ("apple notebook pencil ticket cupcake marble sticker book plant candle shirt mug battery "
         "cookie poster orange bracelet puzzle").split()
LANGS = ["Python", "JavaScript", "TypeScript", "Go", "Rust", "Java", "C++", "C#", "Kotlin", "Ruby",
         "PHP", "Swift", "Scala", "Haskell", "R", "Julia", "Elixir", "Bash", "SQL", "Dart"]
CODE_TASKS = [
    "parse a CSV file and compute the median of one column", "implement an LRU cache with a fixed capacity",
    "debounce a function call", "flatten an arbitrarily nested list", "check whether a string is a valid IPv4 address",
    "merge two sorted arrays into one sorted array", "find the longest palindromic substring",
    "read a large log file line by line and count errors per hour", "retry an HTTP request with exponential backoff",
    "validate an email address without a huge regex", "rotate a matrix 90 degrees in place",
    "implement a thread-safe counter", "serialize a binary tree to a string and back",
    "group a list of words into anagram sets", "compute the Levenshtein distance between two strings",
    "paginate results from a REST API until there are no more pages", "detect a cycle in a linked list",
    "implement binary search on a rotated sorted array", "convert a Roman numeral to an integer",
    "build a simple rate limiter using a token bucket", "deduplicate records by a composite key",
    "parse command-line arguments with subcommands", "walk a directory tree and find duplicate files by hash",
    "implement Dijkstra's shortest path on a weighted graph", "topologically sort tasks with dependencies",
    "stream a large JSON array without loading it all into memory", "write a tiny publish/subscribe event bus",
    "compute a moving average over a sliding window", "format a duration in seconds as a human-readable string",
    "implement a trie with insert, search and prefix search", "schedule jobs with a cron-like expression",
    "generate all permutations of a list", "compress a string with run-length encoding",
    "find the k most frequent elements in an array", "implement a min-heap from scratch",
    "calculate business days between two dates", "memoize an expensive recursive function",
    "split a bill evenly among friends with rounding handled fairly", "parse and evaluate arithmetic expressions",
    "implement a bloom filter", "diff two lists of dictionaries and report changes",
    "upload a file in chunks with progress reporting", "convert between time zones correctly around DST",
    "batch database inserts efficiently", "implement a simple key-value store with persistence to disk",
    "solve the N-Queens problem", "generate a random secure password with constraints",
    "find connected components in an undirected graph", "implement a circular buffer",
    "read environment variables with defaults and type conversion", "check if two strings are one edit apart",
    "implement matrix multiplication and benchmark it", "parse a URL query string into a dictionary",
    "implement a worker pool that processes jobs concurrently", "detect the language of a text file by extension",
    "implement the producer-consumer pattern", "compute the intersection of two large sets of IDs",
    "build a minimal HTTP server that returns JSON", "write a function that pretty-prints a table",
    "implement the sieve of Eratosthenes", "cache API responses with a time-to-live",
]
CODE_CONSTRAINTS = ["", "", "No external libraries please.", "Use type hints.", "Include unit tests.",
                    "It should handle empty input gracefully.", "It needs to run in O(n log n) or better.",
                    "Add clear comments.", "Standard library only.", "Also explain the time complexity.",
                    "Keep memory use low.", "Make it idiomatic.", "Include proper error handling."]
PROJECTS = ["a small inventory app", "a side project", "a data pipeline at work", "my thesis code",
            "a Discord bot", "an internal dashboard", "a CLI tool", "a coding interview prep",
            "a microservice", "a game prototype", "a scraper", "our billing system"]
CONCEPTS = [
    "how vaccines train the immune system", "the difference between TCP and UDP", "why the sky is blue",
    "what inflation is and why it happens", "how public key cryptography works", "the causes of World War I",
    "photosynthesis", "how black holes form", "the Monty Hall problem", "gradient descent",
    "how CRISPR gene editing works", "supply and demand", "the French Revolution", "quantum entanglement",
    "compound interest", "how a bill becomes law in the US", "plate tectonics", "the placebo effect",
    "how neural networks learn", "the difference between weather and climate", "how GPS works",
    "the Krebs cycle", "opportunity cost", "what a p-value means", "how blockchains reach consensus",
    "the theory of evolution by natural selection", "how compilers work", "the Cold War", "entropy",
    "the difference between stocks and bonds", "how the heart pumps blood", "Bayes' theorem",
    "what DNS does", "how nuclear fission produces energy", "the Renaissance", "the water cycle",
    "how interest rates affect the economy", "what a Fourier transform does", "cognitive dissonance",
    "how antibiotics work and why resistance develops", "the Silk Road", "how batteries store energy",
    "the difference between RAM and storage", "why airplanes fly", "how the stock market works",
    "what recursion is", "the greenhouse effect", "how elections work in parliamentary systems",
    "the big O notation", "the Industrial Revolution", "how tides work", "what an API is",
    "the difference between viruses and bacteria", "how memory works in the brain", "game theory",
    "how credit scores work", "the theory of relativity", "what a database index is", "the Roman Empire's fall",
    "how solar panels work", "Keynesian economics", "the central limit theorem", "how vaccines are tested",
    "what overfitting is", "the scientific method", "how encryption protects messages", "the Big Bang",
]
AUDIENCES = ["a 10-year-old", "a first-year college student", "someone with no technical background",
             "a software engineer", "my grandmother", "a high school class", "a busy manager", "an expert"]
GENRES = ["blog post", "cover letter", "short story", "poem", "product description", "LinkedIn post",
          "speech", "newsletter intro", "essay", "email", "haiku", "limerick", "tweet thread", "toast",
          "op-ed", "scene for a screenplay", "children's story", "song chorus", "press release"]
TOPICS = ["remote work", "a lighthouse keeper", "climate change", "the first day of school", "coffee",
          "a robot learning to paint", "friendship", "a startup launch", "autumn in the city", "space travel",
          "a lost dog finding its way home", "time management", "electric cars", "a small bakery",
          "learning a new language", "the ocean", "a retirement party", "artificial intelligence", "hiking",
          "a rainy Monday", "our new CRM software", "a detective in 1920s Paris", "minimalism", "jazz",
          "a community garden", "the importance of sleep", "a dragon who is afraid of fire", "cybersecurity",
          "moving to a new country", "a chess tournament", "urban cycling", "a grandmother's recipe book"]
TONES = ["funny", "formal", "heartfelt", "persuasive", "casual", "inspiring", "dramatic", "professional",
         "whimsical", "concise"]
CITIES = ["Lisbon", "Kyoto", "Mexico City", "Prague", "Cape Town", "Vancouver", "Istanbul", "Hanoi",
          "Edinburgh", "Buenos Aires", "Seoul", "Marrakech", "Copenhagen", "Chicago", "Sydney"]
HOBBIES = ["gardening", "photography", "board games", "running", "cooking", "knitting", "video games",
           "birdwatching", "jazz", "climbing", "reading sci-fi", "woodworking"]
RELATIONS = ["mom", "dad", "sister", "brother", "boyfriend", "girlfriend", "coworker", "boss", "best friend",
             "grandpa", "wife", "husband", "teenage son", "daughter"]
INGREDIENTS = ["chicken", "rice", "spinach", "chickpeas", "eggs", "potatoes", "tofu", "salmon", "lentils",
               "mushrooms", "pasta", "zucchini", "feta", "black beans", "sweet potatoes", "ground beef"]
CHARACTERS = ["a grumpy medieval innkeeper", "a pirate captain", "Sherlock Holmes", "a job interviewer at a tech company",
              "a customer service agent for an airline", "a wise old wizard", "a Socratic tutor", "a travel guide in Rome",
              "a noir detective", "an alien visiting Earth", "a personal trainer", "a 1950s radio host"]
SCENARIOS = ["I walk in looking for a room for the night.", "I want to join your crew.",
             "I need help solving a mystery about a missing necklace.", "Interview me for a backend role.",
             "My flight was cancelled and I'm upset.", "Teach me about the stars.", "Help me study for my exam.",
             "I have one day to see everything.", "A woman walks into your office with a case.",
             "Ask me about human customs.", "I want to get in shape in 8 weeks.", "Take calls from listeners."]
LANGUAGES = ["Spanish", "French", "German", "Japanese", "Portuguese", "Italian", "Korean", "Chinese", "Dutch",
             "Polish", "Turkish", "Hindi"]
ERRORS = ["a KeyError", "a null pointer exception", "'undefined is not a function'", "a segfault",
          "an index out of range error", "a timeout", "a type error", "a borrow checker error"]

# ---------------------------------------------------------------- task families

def _math(rng):
    n1, n2 = rng.sample(NAMES, 2)
    item = rng.choice(ITEMS)
    a, b, c, d = (rng.randint(2, 40) for _ in range(4))
    kind = rng.randrange(14)
    if kind == 0:
        p = rng.randint(2, 9)
        return f"{n1} buys {a} {item}s at ${p} each and pays with a ${(a * p // 20 + 1) * 20} bill. How much change does {n1} get?"
    if kind == 1:
        return f"A train travels {a * 10} km in {b % 5 + 1} hours. At the same speed, how long would it take to travel {c * 25} km?"
    if kind == 2:
        return f"Solve for x: {a}x + {b} = {c}x - {d}"
    if kind == 3:
        return f"What is the derivative of f(x) = {a}x^{b % 5 + 2} - {c}x^2 + {d}x - {a + b}?"
    if kind == 4:
        return (f"A bag has {a % 9 + 3} red and {b % 9 + 2} blue marbles. If you draw two without replacement, "
                f"what is the probability that both are red?")
    if kind == 5:
        return f"{n1} has {a} more {item}s than {n2}. Together they have {2 * b + a}. How many does each have?"
    if kind == 6:
        return f"How much is ${a * 500} worth after {b % 15 + 2} years at {c % 7 + 2}% interest compounded annually?"
    if kind == 7:
        return f"In how many ways can {a % 7 + 4} people sit around a round table?"
    if kind == 8:
        return f"Find the integral of {a}x^{b % 4 + 1} * e^({c % 5 + 1}x) dx."
    if kind == 9:
        return (f"A rectangle's length is {a % 6 + 2} times its width and its perimeter is {(a % 6 + 3) * 2 * b} cm. "
                f"What is its area?")
    if kind == 10:
        return (f"{n1} can paint a fence in {a % 8 + 2} hours and {n2} can do it in {b % 8 + 3} hours. "
                f"How long if they work together?")
    if kind == 11:
        return f"Is {rng.randint(100, 9999)} a prime number? If not, give its prime factorization."
    if kind == 12:
        return (f"A store marks up a {item} by {a}% and then offers a {b % 30 + 5}% discount. "
                f"Is the final price higher or lower than the original, and by how much percent?")
    return (f"The mean of {a % 5 + 4} numbers is {b + 10}. When one number is removed the mean becomes {b + 8}. "
            f"What number was removed?")


def _puzzle(rng):
    a, b, c = rng.sample(NAMES, 3)
    k = rng.randrange(5)
    if k == 0:
        x, y, z = rng.sample(["glorps", "fendles", "mibs", "tarks", "quols", "zimbs"], 3)
        return f"If all {x} are {y} and some {y} are {z}, does it follow that some {x} are {z}? Why or why not?"
    if k == 1:
        pets = rng.sample(["cat", "dog", "parrot", "rabbit", "turtle", "hamster"], 3)
        return (f"{a}, {b} and {c} each own a different pet: a {pets[0]}, a {pets[1]} and a {pets[2]}. "
                f"{a} is allergic to fur. {b} doesn't own the {pets[2]}. Who owns which pet?")
    if k == 2:
        n = rng.randint(3, 9)
        return f"I have {n} coins and one of them is fake and lighter. What's the minimum number of weighings on a balance scale to find it?"
    if k == 3:
        return f"{a} is older than {b}. {c} is younger than {b} but older than {rng.choice(NAMES)}. Who is the second oldest?"
    return f"A clock shows {rng.randint(1, 12)}:{rng.choice(['15', '20', '40', '45', '50'])}. What is the angle between the hour and minute hands?"


def family_task(rng, family):
    """One content item of a family: (core_text, answer_kind, mean_tokens, meta)."""
    if family == "code":
        lang, task = rng.choice(LANGS), rng.choice(CODE_TASKS)
        return {"lang": lang, "task": task, "con": rng.choice(CODE_CONSTRAINTS)}, "code", 420
    if family == "math":
        return {"q": _math(rng)}, "prose", 300
    if family == "puzzle":
        return {"q": _puzzle(rng)}, "prose", 260
    if family == "explain":
        return {"c": rng.choice(CONCEPTS), "aud": rng.choice(AUDIENCES)}, "prose", 380
    if family == "writing":
        return {"g": rng.choice(GENRES), "t": rng.choice(TOPICS), "tone": rng.choice(TONES)}, "prose", 360
    if family == "roleplay":
        i = rng.randrange(len(CHARACTERS))
        return {"ch": CHARACTERS[i], "sc": SCENARIOS[i]}, "prose", 220
    if family == "everyday":
        return {"k": rng.randrange(9), "city": rng.choice(CITIES), "h": rng.choice(HOBBIES),
                "r": rng.choice(RELATIONS), "ing": rng.sample(INGREDIENTS, 3)}, "prose", 300
    raise ValueError(family)


def _typo(rng, s, p):
    if rng.random() > p or len(s) < 12:
        return s
    i = rng.randrange(1, len(s) - 2)
    if s[i].isalpha() and s[i + 1].isalpha():
        return s[:i] + s[i + 1] + s[i] + s[i + 2:]
    return s


def _casual(rng, s, p_lower=0.5):
    if rng.random() < p_lower:
        s = s[0].lower() + s[1:]
        if s.endswith(".") and rng.random() < 0.6:
            s = s[:-1]
    return s


def render(rng, family, slots, register="chat"):
    """Phrase a task the way a person (register chat/dev) or an API client (register api) would."""
    r = rng.random
    if family == "code":
        lang, task, con = slots["lang"], slots["task"], slots["con"]
        forms = [
            f"Write {lang} code to {task}. {con}",
            f"How do I {task} in {lang}? {con}",
            f"I need a {lang} snippet that can {task}. {con}",
            f"I'm working on {rng.choice(PROJECTS)} and need to {task}. What's a clean way to do it in {lang}?",
            f"can you show me how to {task} in {lang}",
            f"What's the best way to {task} using {lang}? {con}",
            f"{lang}: {task}. {con}",
            f"Could you help me {task}? I'm using {lang}. {con}",
            f"Give me a {lang} implementation to {task}. {con}",
            f"In {lang}, how would you {task}?",
        ]
        s = rng.choice(forms)
    elif family in ("math", "puzzle"):
        q = slots["q"]
        forms = [q, f"Can you help me with this? {q}", f"Quick question: {q}", f"{q} I keep getting a different answer than my friend.",
                 f"need help with my homework: {q}", f"How would you solve this: {q}", f"{q} Thanks!",
                 f"I'm stuck on this one. {q}", f"My kid asked me this and I'm not sure: {q}", f"Problem: {q}"]
        s = rng.choice(forms)
    elif family == "explain":
        c, aud = slots["c"], slots["aud"]
        forms = [f"Explain {c} to {aud}.", f"Can you explain {c}?", f"ELI5: {c}", f"What's the deal with {c}?",
                 f"I never really understood {c}. Can you help?", f"How would you explain {c} to {aud}?",
                 f"Give me an overview of {c}.", f"I have an exam tomorrow, can you go over {c}?",
                 f"Help me understand {c} - I'm {aud.replace('a ', 'like a ', 1) if aud.startswith('a ') else 'new to this'}.",
                 f"Write a short explainer on {c} for {aud}."]
        s = rng.choice(forms)
    elif family == "writing":
        g, t, tone = slots["g"], slots["t"], slots["tone"]
        forms = [f"Write a {tone} {g} about {t}.", f"Can you write me a {g} about {t}? Make it {tone}.",
                 f"I need a {g} on {t}, {tone} tone please.", f"Draft a {g} about {t}.",
                 f"Help me write a {tone} {g} about {t}", f"write a {g} about {t}",
                 f"Could you come up with a {tone} {g} on the topic of {t}?",
                 f"Compose a {g} about {t}. Keep it {tone}.", f"I'd love a {tone} {g} about {t}."]
        s = rng.choice(forms)
    elif family == "roleplay":
        ch, sc = slots["ch"], slots["sc"]
        forms = [f"Pretend you are {ch}. {sc}", f"Let's role play. You're {ch}. {sc}",
                 f"Act as {ch}. {sc}", f"You are {ch} now. {sc}", f"roleplay: you're {ch}. {sc}"]
        s = rng.choice(forms)
    else:  # everyday
        k, city, h, rel, ing = slots["k"], slots["city"], slots["h"], slots["r"], slots["ing"]
        s = [f"Plan a 3-day trip to {city} for me, I like food and walking.",
             f"Gift ideas for my {rel} who is into {h}? Budget around $50.",
             f"What can I cook tonight with {ing[0]}, {ing[1]} and {ing[2]}?",
             f"How do I get better at {h} as a complete beginner?",
             f"My {rel} and I keep arguing about chores. Any advice?",
             f"What's a good weekly workout plan if I only have 30 minutes a day?",
             f"Is it worth visiting {city} in winter?",
             f"Can you suggest a name for my new {rng.choice(['cat', 'dog', 'podcast', 'bakery', 'band'])}?",
             f"How do I politely tell my {rel} I can't come to their party?"][k]
    s = " ".join(s.split())
    if register in ("chat", "dev"):
        s = _typo(rng, _casual(rng, s, 0.35 if register == "chat" else 0.2), 0.15)
    return s


FOLLOW_UPS = {
    "code": ["can you add error handling?", "how would I write tests for this?", "now do the same in {lang2}",
             "it throws {err} when I run it, any idea why?", "can you make it faster?",
             "explain what each part does", "what if the input is huge?", "can you refactor it into a class?",
             "is there a simpler way?", "add type annotations please"],
    "math": ["why did you do that second step?", "can you check it another way?", "what if it was {n} instead?",
             "I got a different answer, can you double check?", "can you give me a similar problem to practice?",
             "explain it more simply please"],
    "puzzle": ["are you sure?", "what if there were {n} of them?", "can you give me a harder one?",
               "explain the trick behind it"],
    "explain": ["can you give an example?", "how does that relate to {c2}?", "simpler please",
                "what are common misconceptions about this?", "go deeper on the second point",
                "can you make a summary table?", "what should I read next?"],
    "writing": ["make it more {tone}", "shorter please", "add a part about {t2}", "can you give me 3 alternative titles?",
                "rewrite it from a different perspective", "make the ending stronger", "translate it to {lang}"],
    "roleplay": ["*looks around nervously* what happens next?", "I tell you I don't believe you.",
                 "okay, continue", "I ask about the strange noise outside.", "I accept the offer."],
    "everyday": ["thanks! anything cheaper?", "what about for a vegetarian?", "can you make it a list?",
                 "hmm, any other ideas?", "what would you do?", "ok thanks"],
}
CHEAP_REPLIES = ["thanks!", "perfect, thank you", "ok", "great thanks", "cool", "ty", "that works"]


def follow_up(rng, family):
    s = rng.choice(FOLLOW_UPS[family])
    return s.format(lang2=rng.choice(LANGS), err=rng.choice(ERRORS), n=rng.randint(3, 60),
                    c2=rng.choice(CONCEPTS), tone=rng.choice(TONES), t2=rng.choice(TOPICS), lang=rng.choice(LANGUAGES))


# ---------------------------------------------------------------- application material

PRODUCTS = ["wireless earbuds", "standing desk", "ceramic pour-over coffee set", "trail running shoes",
            "smart thermostat", "linen duvet cover", "cast iron skillet", "kids' bike helmet", "yoga mat",
            "noise-cancelling headphones", "mechanical keyboard", "air purifier", "leather wallet",
            "insulated water bottle", "electric toothbrush", "robot vacuum", "camping lantern", "wool beanie"]
ADJ = ["great", "terrible", "okay", "amazing", "disappointing", "solid", "cheap", "sturdy", "flimsy", "comfortable",
       "loud", "quiet", "fast", "slow", "beautiful", "overpriced", "reliable", "broken", "perfect", "confusing"]
ASPECTS = ["battery life", "delivery", "packaging", "customer service", "price", "build quality", "setup",
           "instructions", "size", "color", "sound", "smell", "app", "warranty", "fit", "material"]


def review(rng):
    p = rng.choice(PRODUCTS)
    parts = [f"Bought the {p} {rng.choice(['last week', 'a month ago', 'for my birthday', 'on sale', 'two days ago'])}."]
    for _ in range(rng.randint(2, 6)):
        parts.append(f"The {rng.choice(ASPECTS)} is {rng.choice(ADJ)}" + rng.choice([".", "!", ", honestly.", " but whatever.", "."]))
    parts.append(rng.choice(["Would buy again.", "Returning it.", "3 stars.", "Not sure yet.", "Recommended!", ""]))
    return " ".join(x for x in parts if x)


TICKET_BITS = ["I can't log in", "my card was charged twice", "the export button does nothing",
               "how do I cancel my plan", "the app crashes on startup", "please add dark mode",
               "I forgot my password and the reset email never came", "the invoice has the wrong address",
               "search returns nothing since yesterday", "can I upgrade mid-month", "sync is stuck at 80%"]


def ticket(rng):
    return (f"{rng.choice(['Hi', 'Hello', 'hey', 'Dear support', ''])} {rng.choice(TICKET_BITS)}. "
            f"{rng.choice(['', 'This is urgent.', 'Thanks.', 'Tried restarting already.', 'Order #' + str(rng.randint(10000, 99999)) + '.'])}").strip()


def passage(rng, sentences=4):
    out = []
    for _ in range(sentences):
        out.append(f"The {rng.choice(ASPECTS)} of the {rng.choice(PRODUCTS)} was {rng.choice(ADJ)} "
                   f"{rng.choice(['according to the team', 'this quarter', 'for most customers', 'after the update', 'in our tests'])}.")
    return " ".join(out)


# ---------------------------------------------------------------- answers

_WORDS = ("the a of to and in is that for it as with on this be are by or can you your an from at which "
          "will if more one example first step then use also when each value function result case data "
          "approach way because however note here important simple common number time make sure would "
          "should these other only into two where like some them just how what than most well".split())


def build_pool(seed, n_words=400_000):
    rng = random.Random(seed)
    words = []
    sent = 0
    for _ in range(n_words):
        w = rng.choice(_WORDS)
        if sent == 0:
            w = w.capitalize()
        sent += 1
        if sent > rng.randint(8, 22):
            w += "."
            sent = 0
        words.append(w)
    return " ".join(words)


class Answers:
    def __init__(self, seed):
        self.pool = build_pool(seed)
        self.rng = random.Random(seed + 7)

    def text(self, tokens, kind="prose", lang="python"):
        chars = max(4, int(tokens * 4))
        if kind == "short":
            return self._slice(chars)
        if kind == "json":
            return '{"result": "' + self._slice(max(4, chars - 14)) + '"}'
        if kind == "code":
            code_chars = int(chars * 0.55)
            lines, n = [], 0
            while n < code_chars:
                ln = "    " * self.rng.randint(0, 2) + self._slice(self.rng.randint(18, 60)).replace(".", "()")
                lines.append(ln)
                n += len(ln) + 1
            intro = self._slice(max(10, chars - code_chars) // 3)
            outro = self._slice(max(10, chars - code_chars) * 2 // 3)
            return f"{intro}\n\n```{lang.lower()}\n" + "\n".join(lines) + f"\n```\n\n{outro}"
        return self._slice(chars)

    def _slice(self, n):
        start = self.rng.randrange(0, len(self.pool) - n - 50)
        s = self.pool.find(" ", start) + 1
        return self.pool[s:s + n].strip()


# ---------------------------------------------------------------- paraphrase layer (instruction-set rewriting)

PERSONAS = ["a teacher", "a nurse", "a PhD student", "an accountant", "a small business owner", "a junior developer",
            "a product manager", "a high school student", "a retired engineer", "a freelance designer",
            "a data analyst", "a parent of two", "a sales rep", "a med student", "a startup founder", "a librarian"]
SITUATIONS = ["preparing for a meeting", "studying for an exam", "working on a side project", "helping a friend",
              "writing a report", "trying to learn something new", "stuck on a task at work", "planning next week",
              "reviewing some material", "putting together a presentation"]
OPENERS = ["Context: I'm {p} {s}.", "Background - I'm {p}, currently {s}.", "I'm {p} and I'm {s}.",
           "Some context: {p} here, {s}.", "As {p} who is {s}, I have a question.", "Hi! I'm {p}; {s} at the moment.",
           "Quick background: I work as {p2} and I'm {s}.", ""]
CLOSERS = ["", "A practical answer would help.", "Please keep it clear.", "Concrete examples are welcome.",
           "Assume I know the basics.", "Keep the jargon down.", "I'd like to actually use this today.",
           "Bullet points are fine.", "Thanks in advance!", "Short intro, then the details."]


OPENERS += ["For context, {s} - I'm {p}.", "Being {p}, I'm {s} right now.", "{S}, and I'm {p}.",
            "I work as {p2}. Right now I'm {s}.", "(I'm {p}, {s}.)", "Currently {s}. I'm {p}, for what it's worth."]


def contextualize(rng, text):
    """An instruction rewritten the way paraphrase pipelines do: a persona/context and a closing preference,
    in front of or after the request, so no opening or closing words dominate an account."""
    p = rng.choice(PERSONAS)
    sit = rng.choice(SITUATIONS)
    op = rng.choice(OPENERS).format(p=p, p2=p[2:] if p.startswith("a ") else p[3:], s=sit, S=sit[0].upper() + sit[1:])
    cl = rng.choice(CLOSERS)
    parts = [op, text, cl] if rng.random() < 0.6 else [text, op, cl]
    if rng.random() < 0.5:
        parts = parts[:2]
    return " ".join(x for x in parts if x)


CONTINUES = ["continue", "please continue", "keep going", "go on", "can you expand on that?",
             "more detail on the last part please", "and then?", "can you finish that?"]
