"""Prompt and answer text for the marketplace world, composed from small vocabularies.

Every builder takes a ``random.Random`` and returns text; the shared prompt sets under
``/work/shared/data`` are mixed in when present (``Pools``) and are drawn by benign and campaign
accounts alike, so that no source marks a label.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

LANGS = ["Python", "TypeScript", "Go", "Rust", "Java", "C++", "C#", "Kotlin", "Ruby", "PHP", "Swift", "SQL", "Bash"]
HUMAN_LANGS = ["German", "French", "Spanish", "Italian", "Portuguese", "Dutch", "Polish", "Japanese", "Korean",
               "Simplified Chinese", "Traditional Chinese", "Arabic", "Turkish", "Hindi", "Indonesian", "Vietnamese",
               "Thai", "Swedish", "Danish", "Finnish", "Czech", "Greek", "Hebrew", "Ukrainian", "Romanian"]
NAMES = ["Maya", "Tom", "Priya", "Luis", "Aiko", "Omar", "Greta", "Kwame", "Sofia", "Jin", "Nadia", "Pedro", "Leah",
         "Ivan", "Fatima", "Noah", "Chloe", "Ravi", "Elena", "Marcus", "Yuki", "Amara", "Ben", "Zara"]
ITEMS = ["apples", "stickers", "notebooks", "cupcakes", "marbles", "tickets", "pencils", "cookies", "books",
         "seedlings", "bracelets", "postcards", "candles", "jars of jam", "comic books", "tomatoes"]
CODE_TASKS = [
    "parses an ISO 8601 duration string into seconds", "merges overlapping intervals in a list",
    "finds the longest palindromic substring", "implements an LRU cache with O(1) get and put",
    "validates a Sudoku board", "computes the edit distance between two strings",
    "serialises and deserialises a binary tree", "detects a cycle in a directed graph",
    "returns the k most frequent words in a text", "implements a token-bucket rate limiter",
    "flattens an arbitrarily nested list", "rotates an N x N matrix in place",
    "implements binary search on a rotated sorted array", "finds all permutations of a string without duplicates",
    "computes the median of a stream of numbers", "implements Dijkstra's shortest path on a weighted graph",
    "checks whether a string of brackets is balanced", "converts a Roman numeral to an integer",
    "groups anagrams from a list of words", "implements a trie with insert, search and prefix search",
    "reads a CSV file and reports the mean of each numeric column", "debounces a function call",
    "retries an HTTP request with exponential backoff and jitter", "computes a topological order of tasks",
    "finds the maximum subarray sum", "implements a thread-safe bounded queue",
    "counts islands in a grid of 0s and 1s", "evaluates an arithmetic expression with + - * / and parentheses",
    "implements run-length encoding and decoding", "finds the lowest common ancestor in a binary search tree",
    "paginates results from a REST API until exhausted", "diffs two JSON documents and lists changed keys",
    "solves the 0/1 knapsack problem", "generates all valid IPv4 addresses from a digit string",
    "schedules meetings into the minimum number of rooms", "implements a min-heap from scratch",
    "parses a log file and counts requests per status code", "computes the convex hull of 2D points",
    "implements consistent hashing with virtual nodes", "finds the shortest word ladder between two words",
]
CODE_EXTRAS = ["", " Include unit tests.", " Explain the time and space complexity.", " Handle edge cases and invalid input.",
               " Use only the standard library.", " Add type annotations and docstrings.", " Optimise for memory.",
               " Then walk through an example input step by step."]
SCIENCE = ["photosynthesis", "the Krebs cycle", "quantum entanglement", "plate tectonics", "CRISPR gene editing",
           "the greenhouse effect", "special relativity", "entropy in thermodynamics", "how vaccines train immunity",
           "black hole evaporation", "the central limit theorem", "Bayes' theorem", "neural network backpropagation",
           "the double-slit experiment", "ocean acidification", "how transistors work", "mitochondrial DNA",
           "the Doppler effect", "nuclear fusion in stars", "public-key cryptography", "the placebo effect",
           "supply and demand elasticity", "compound interest", "the water cycle", "antibiotic resistance",
           "the Fourier transform", "superconductivity", "the immune response to allergens", "El Nino"]
AUDIENCES = ["to a 10-year-old", "for a high-school student", "at university level", "in one paragraph",
             "with an analogy", "for a non-technical manager", "with equations where useful", "in simple terms"]
TOPICS = ["remote work", "urban gardening", "electric cars", "the history of tea", "sleep hygiene",
          "small business bookkeeping", "learning a second language", "minimalism", "coral reefs",
          "the Roman Empire's economy", "home composting", "personal finance for students", "microservices",
          "sourdough baking", "marathon training", "climate adaptation in cities", "open-source licensing",
          "mental health at work", "the future of public libraries", "3D printing", "board game design",
          "renewable energy storage", "cybersecurity for families", "birdwatching", "ancient Greek theatre"]
FORMS = ["a short story", "a poem", "a blog post", "a LinkedIn post", "a product pitch", "a haiku sequence",
         "a persuasive essay", "a dialogue", "a limerick", "a speech for a wedding", "a newsletter intro"]
STYLES = ["", " in a humorous tone", " in the style of a noir detective", " for children", " in under 200 words",
          " with a twist ending", " in a formal register", " from the point of view of a cat"]
PRODUCTS = ["bamboo toothbrush", "wireless earbuds", "ceramic pour-over coffee set", "kids' rain jacket",
            "standing desk converter", "organic lavender soap", "trail running shoes", "cast-iron skillet",
            "LED desk lamp", "yoga mat", "leather card wallet", "smart plug", "reusable beeswax wraps",
            "mechanical keyboard", "linen bed sheets", "insulated water bottle", "hand-thrown mug", "dog harness"]
BUSINESS_SUBJECTS = ["a delayed shipment", "a price increase", "a meeting reschedule", "an overdue invoice",
                     "a new feature launch", "a partnership proposal", "quarterly results", "a job offer",
                     "a refund request", "a contract renewal", "onboarding a new client", "a service outage"]
COMPANIES = ["Brightleaf", "Northwind", "Kestrel", "Luma", "Harbor & Finch", "Quillstone", "Tidewater", "Orbit Labs",
             "Pinecrest", "Sundial", "Ridgeway", "Cobalt", "Juniper", "Meridian", "Foxglove", "Atlas Freight"]
LOGIC = [
    "On an island, knights always tell the truth and knaves always lie. {a} says: '{b} is a knave.' {b} says: "
    "'We are both knights.' Who is what?",
    "What is the next number in the sequence {s}? Explain the pattern.",
    "{a}, {b} and {c} each own a different pet (cat, dog, parrot). {a} is allergic to fur, {b} does not own the "
    "dog. Who owns which pet?",
    "A train leaves at {h}:00 travelling at {v} km/h; another leaves {d} hours later at {w} km/h on the same "
    "track. When does the second catch up?",
    "You have {n} coins and one is counterfeit and lighter. What is the minimum number of weighings on a balance "
    "to find it? Justify.",
    "Schedule {n} tasks with durations {s} on two machines to minimise the finishing time. Show your reasoning.",
]
HOWTO = ["set up a home network with a guest VLAN", "negotiate a salary increase", "prepare for a job interview",
         "write a good bug report", "start investing with a small budget", "train a puppy to walk on a leash",
         "reduce my cloud bill", "back up my photos safely", "plan a two-week trip to Japan",
         "write a grant proposal", "migrate a database with zero downtime", "improve my credit score",
         "teach fractions to a struggling student", "run an effective retrospective", "fix a leaking tap"]
COMPARE = [("PostgreSQL", "MySQL"), ("React", "Svelte"), ("renting", "buying a home"), ("Kafka", "RabbitMQ"),
           ("index funds", "individual stocks"), ("Rust", "Go"), ("solar", "heat pumps"), ("SQL", "NoSQL"),
           ("Kubernetes", "a single VM"), ("Notion", "Obsidian"), ("term life", "whole life insurance")]
FILLER_SUBJECTS = ["The key idea", "In practice this", "A common mistake", "One useful approach", "The main trade-off",
                   "This step", "The result", "An important detail", "For most cases this", "A good rule of thumb"]
FILLER_VERBS = ["is to", "means you should", "tends to", "helps to", "requires you to", "lets you"]
FILLER_OBJECTS = ["check the assumptions first", "keep the interface small", "measure before optimising",
                  "separate the concerns clearly", "handle the boundary values", "write the invariant down",
                  "compare both options on cost and risk", "start from the simplest case",
                  "reuse what already works", "state the units explicitly", "test with a realistic example",
                  "document the decision", "look at the worst case", "keep the reader in mind"]
FOLLOW_UPS = ["Can you give a concrete example?", "Why is that?", "What about edge cases?", "Can you make it shorter?",
              "Can you explain step 2 in more detail?", "How would this change if the input were much larger?",
              "Is there a simpler way?", "What are the risks?", "Can you rewrite it as a table?",
              "thanks! and what if i use {lang} instead?", "hmm that didn't work, I get an error: {err}",
              "ok now add error handling", "Could you compare that with the alternative?", "summarize that for my boss"]
ERRORS = ["TypeError: 'NoneType' object is not subscriptable", "KeyError: 'id'", "undefined is not a function",
          "segmentation fault (core dumped)", "connection refused", "IndexError: list index out of range",
          "panic: runtime error: index out of range", "ModuleNotFoundError: No module named 'yaml'"]
WORDS = ("time person year way day thing world life hand part child eye place week case point company number "
         "group problem fact order price report customer market system policy account service team project "
         "product data result change reason level office door health process plan season river garden "
         "window music energy budget travel weather contract schedule sample table letter design review").split()


def words(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n))


def sentence(rng: random.Random) -> str:
    return f"{rng.choice(FILLER_SUBJECTS)} {rng.choice(FILLER_VERBS)} {rng.choice(FILLER_OBJECTS)}."


def prose(rng: random.Random, chars: int) -> str:
    parts, size = [], 0
    while size < chars:
        para = " ".join(sentence(rng) for _ in range(rng.randint(2, 5)))
        parts.append(para)
        size += len(para) + 2
    return "\n\n".join(parts)[:max(chars, 1)]


class Pools:
    """Rows of the shared prompt sets, by file stem; empty when the folder is absent."""

    def __init__(self, folder: Path | None):
        self.rows: dict[str, list[dict]] = {}
        if folder is None or not folder.is_dir():
            return
        for path in sorted(folder.glob("*.jsonl")):
            rows = []
            with path.open(encoding="utf-8") as handle:
                for line in handle:
                    try:
                        row = json.loads(line)
                    except ValueError:
                        continue
                    if isinstance(row, dict) and isinstance(row.get("prompt"), str) and row["prompt"].strip():
                        rows.append(row)
            if rows:
                self.rows[path.stem] = rows

    def draw(self, rng: random.Random, stem: str) -> dict | None:
        rows = self.rows.get(stem)
        return rng.choice(rows) if rows else None

    @property
    def present(self) -> bool:
        return bool(self.rows)


# ---- prompt builders, each returning (prompt, category) --------------------------------------------------

def math_word(rng: random.Random) -> str:
    a, b, c = rng.randint(3, 90), rng.randint(2, 40), rng.randint(2, 9)
    name, other, item = rng.choice(NAMES), rng.choice(NAMES), rng.choice(ITEMS)
    templates = [
        f"{name} has {a} {item}. She gives {b} to {other} and then buys {c} times as many as she has left. "
        f"How many {item} does she have now?",
        f"A shop sells {item} at ${c}.{rng.randint(10, 95)} each. {name} buys {a} and pays with ${a * c + 20}. "
        f"How much change does {name} get?",
        f"{name} reads {b} pages a day. The book has {a * c + b} pages. After {c} days, how many pages are left, "
        f"and how many more days will it take?",
        f"A tank holds {a * 10} litres and leaks {c} litres per hour while a pump adds {b} litres per hour. "
        f"Starting half full, when is it full?",
        f"{name} and {other} share {a * c} {item} in the ratio {c}:{b % 7 + 1}. How many does each get?",
        f"A rectangle's length is {c} cm more than twice its width and its perimeter is {a * 2 + c * 2} cm. "
        f"Find its area.",
    ]
    return rng.choice(templates)


def math_advanced(rng: random.Random) -> str:
    n, k = rng.randint(3, 12), rng.randint(2, 6)
    templates = [
        f"Find all real x such that x^{k} - {n}x + {k * n - 1} = 0 has a repeated root, or show none exists.",
        f"Prove that the sum of the first {n} odd numbers is a perfect square, then generalise.",
        f"Evaluate the integral of x^{k} * e^(-{n}x) from 0 to infinity.",
        f"A fair die is rolled {n} times. What is the probability that at least {k} sixes appear?",
        f"How many lattice paths from (0,0) to ({n},{k}) avoid the point ({k - 1},{k - 1})?",
        f"Let f(x) = {k}x^2 - {n}x + 1. Find the minimum of f on [0, {n}] and justify.",
        f"Show that {n}^{k} - 1 is divisible by {n - 1}.",
        f"In how many ways can {n} people sit around a round table if two particular people refuse to sit together?",
        f"Solve the recurrence a(n) = {k}a(n-1) - a(n-2) with a(0)=1, a(1)={n}.",
    ]
    return rng.choice(templates)


def code_task(rng: random.Random, lang: str | None = None) -> str:
    lang = lang or rng.choice(LANGS[:11])
    task = rng.choice(CODE_TASKS)
    opener = rng.choice([f"Write a {lang} function that {task}.", f"In {lang}, implement code that {task}.",
                         f"Implement in {lang}: a routine that {task}.", f"How would I write something in {lang} "
                         f"that {task}?", f"Give me idiomatic {lang} that {task}."])
    return opener + rng.choice(CODE_EXTRAS)


def code_debug(rng: random.Random) -> str:
    var = rng.choice(["items", "rows", "users", "nodes", "prices"])
    snippet = (f"def total({var}):\n    s = 0\n    for i in range(len({var}) + 1):\n        s += {var}[i]['value']\n"
               f"    return s / len({var})")
    return rng.choice(["Why does this crash?", "Find the bug:", "This fails on empty input, fix it:",
                       "Review this code:"]) + f"\n\n```python\n{snippet}\n```\n\nError: {rng.choice(ERRORS)}"


def science(rng: random.Random) -> str:
    return rng.choice(["Explain ", "Can you explain ", "Describe ", "Give an intuitive account of "]) + \
        f"{rng.choice(SCIENCE)} {rng.choice(AUDIENCES)}."


def logic(rng: random.Random) -> str:
    start, step = rng.randint(1, 9), rng.randint(2, 5)
    seq = ", ".join(str(start * step ** i + i) for i in range(5))
    return rng.choice(LOGIC).format(a=rng.choice(NAMES), b=rng.choice(NAMES), c=rng.choice(NAMES), s=seq,
                                    h=rng.randint(5, 11), v=rng.randint(60, 120), d=rng.randint(1, 3),
                                    w=rng.randint(121, 200), n=rng.randint(5, 27))


def writing(rng: random.Random) -> str:
    return f"Write {rng.choice(FORMS)} about {rng.choice(TOPICS)}{rng.choice(STYLES)}."


def general(rng: random.Random) -> str:
    a, b = rng.choice(COMPARE)
    return rng.choice([f"How do I {rng.choice(HOWTO)}?", f"What are the pros and cons of {rng.choice(TOPICS)}?",
                       f"Compare {a} and {b}. Which would you pick for a small team?",
                       f"Give me a checklist to {rng.choice(HOWTO)}.", f"What should I know about {rng.choice(TOPICS)}?",
                       f"{a} or {b}? I need to decide by Friday."])


def business(rng: random.Random) -> str:
    return f"Draft an email to {rng.choice(['a client', 'my manager', 'our supplier', 'the team', 'a customer'])} " \
        f"about {rng.choice(BUSINESS_SUBJECTS)}. Keep it {rng.choice(['short', 'friendly', 'formal', 'firm but polite'])}."


BUILDERS = {"math": math_word, "math_hard": math_advanced, "code": code_task, "debug": code_debug,
            "science": science, "logic": logic, "writing": writing, "general": general, "business": business}
POOL_FOR = {"math": "gsm8k_train", "code": "gpteacher_codegen", "writing": "gpteacher_roleplay",
            "general": "alpaca_eval_users", "science": "alpaca_eval_users", "logic": "arena_hard_v0.1",
            "math_hard": "arena_hard_v0.1", "debug": "arena_hard_v0.1", "business": "alpaca_seed_tasks"}


def prompt(rng: random.Random, category: str, pools: Pools, pool_share: float = 0.35) -> tuple[str, str | None]:
    """A prompt of ``category`` and, when drawn from a shared set, that row's recorded answer."""
    if pools.present and rng.random() < pool_share:
        row = pools.draw(rng, POOL_FOR.get(category, "alpaca_eval_users"))
        if row is not None:
            return row["prompt"], row.get("response") if isinstance(row.get("response"), str) else None
    return BUILDERS[category](rng), None


# ---- synthetic documents for pipelines --------------------------------------------------------------------

def support_ticket(rng: random.Random) -> str:
    return (f"Ticket #{rng.randint(10000, 99999)} from {rng.choice(NAMES)} ({rng.choice(COMPANIES)}): "
            f"{rng.choice(['My order', 'The app', 'Billing', 'Login', 'The export', 'My subscription'])} "
            f"{rng.choice(['is not working', 'charged me twice', 'keeps timing out', 'shows the wrong total', 'was cancelled without notice'])}. "
            f"{words(rng, rng.randint(8, 40))}.")


def invoice(rng: random.Random) -> str:
    lines = "\n".join(f"{rng.choice(PRODUCTS)} x{rng.randint(1, 20)} @ {rng.randint(2, 400)}.{rng.randint(0, 99):02d}"
                      for _ in range(rng.randint(2, 7)))
    return (f"INVOICE {rng.randint(1000, 9999)}-{rng.randint(10, 99)}\nSeller: {rng.choice(COMPANIES)} Ltd\n"
            f"Date: 2026-{rng.randint(1, 11):02d}-{rng.randint(1, 28):02d}\n{lines}\nVAT {rng.choice([0, 7, 19, 20, 21])}%")


def transcript(rng: random.Random, turns: int) -> str:
    return "\n".join(f"{rng.choice(['Agent', 'Caller'])}: {words(rng, rng.randint(5, 22))}." for _ in range(turns))


def business_text(rng: random.Random, chars: int) -> str:
    out = []
    while sum(map(len, out)) < chars:
        out.append(f"{rng.choice(COMPANIES)} {words(rng, rng.randint(6, 16))} {rng.choice(PRODUCTS)} "
                   f"{words(rng, rng.randint(4, 12))}.")
    return " ".join(out)[:chars]


# ---- answers ---------------------------------------------------------------------------------------------

def answer(rng: random.Random, category: str, chars: int, recorded: str | None = None) -> str:
    """An assistant answer of about ``chars`` characters shaped like ``category``."""
    if recorded and rng.random() < 0.7:
        return recorded[:chars]
    if category in ("math", "math_hard", "logic"):
        steps = "\n".join(f"{i}. {sentence(rng)} {rng.randint(2, 99)} {rng.choice('+-*/')} {rng.randint(2, 99)} = "
                          f"{rng.randint(2, 999)}" for i in range(1, rng.randint(3, 8)))
        text = f"Let's work through this step by step.\n\n{steps}\n\n**Answer:** {rng.randint(1, 500)}"
    elif category in ("code", "debug"):
        body = "\n".join(f"    {rng.choice(['result', 'value', 'acc', 'node'])} = {rng.choice(['helper', 'step', 'merge'])}"
                         f"({rng.choice(['x', 'left', 'right', 'item'])})" for _ in range(rng.randint(3, 9)))
        text = (f"Here is one way to do it:\n\n```\ndef solve(data):\n{body}\n    return result\n```\n\n"
                f"{prose(rng, max(80, chars // 4))}")
    elif category == "json":
        text = json.dumps({"label": rng.choice(["billing", "bug", "account", "shipping", "other"]),
                           "confidence": round(rng.uniform(0.5, 0.99), 2), "summary": words(rng, rng.randint(5, 14))})
    elif category == "label":
        text = rng.choice(["positive", "negative", "neutral", "spam", "not_spam", "toxic", "ok", "A", "B", "C", "D"])
    elif category == "translation":
        text = business_text(rng, chars)
    else:
        text = prose(rng, chars)
    return text[:max(chars, 20)]


def reasoning_trace(rng: random.Random, chars: int) -> str:
    starts = ["Okay, let me think about this.", "Let me restate the problem.", "First, what is being asked?",
              "Hmm, let me consider the cases.", "Wait, let me double-check that."]
    parts, size = [], 0
    while size < chars:
        piece = f"{rng.choice(starts)} {sentence(rng)} {sentence(rng)}"
        parts.append(piece)
        size += len(piece) + 1
    return "\n".join(parts)[:chars]


def token_list(rng: random.Random, n: int) -> list[str]:
    return [(" " if i and rng.random() < 0.8 else "") + rng.choice(WORDS) for i in range(n)]
