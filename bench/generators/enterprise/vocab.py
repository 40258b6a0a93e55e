"""Hand-written vocabularies and templates for the enterprise traffic generator.

Everything here was written for this generator; nothing is copied from a dataset.
"""

FIRST_NAMES = [
    "Anna", "Ben", "Chloe", "Daniel", "Elif", "Farid", "Grace", "Hiro", "Ines", "Jonas", "Kavya",
    "Lukas", "Maya", "Nikolai", "Olga", "Pedro", "Qi", "Rahul", "Sofia", "Tomas", "Uma", "Viktor",
    "Wen", "Ximena", "Yusuf", "Zoe", "Aisha", "Bruno", "Camille", "Dmitri", "Emeka", "Fatima",
    "Giulia", "Hannah", "Ivan", "Jana", "Kenji", "Leila", "Marek", "Nadia", "Omar", "Priya",
    "Rosa", "Sven", "Tariq", "Valentina", "Wojciech", "Yuki", "Zanele", "Mateo", "Linnea", "Arjun",
]
LAST_NAMES = [
    "Schmidt", "Garcia", "Nakamura", "Okafor", "Kowalski", "Rossi", "Dubois", "Silva", "Chen",
    "Patel", "Johansson", "Ivanova", "Haddad", "Murphy", "Kim", "Nguyen", "Fischer", "Moreau",
    "Santos", "Tanaka", "Novak", "Jensen", "Costa", "Alvarez", "Mensah", "Yilmaz", "Brown", "Wagner",
    "Lindqvist", "Horvath", "Ahmed", "Sato", "Bianchi", "Van Dijk", "O'Brien", "Petrov", "Reyes",
]
COMPANY_A = [
    "North", "Blue", "Iron", "Silver", "Bright", "Cedar", "Harbor", "Summit", "Vector", "Lumen",
    "Alder", "Quartz", "Nimbus", "Orbit", "Granite", "Maple", "Beacon", "Cobalt", "Delta", "Ember",
    "Falcon", "Helix", "Juniper", "Kestrel", "Meridian", "Nova", "Pioneer", "Redwood", "Tidal", "Vanta",
]
COMPANY_B = [
    "bridge", "field", "stone", "path", "works", "line", "point", "gate", "wave", "forge", "leaf",
    "core", "scale", "mark", "ridge", "view", "sight", "flow", "peak", "harbor",
]
COMPANY_C = [
    "Logistics", "Health", "Insurance", "Bank", "Retail", "Analytics", "Legal", "Energy", "Labs",
    "Software", "Travel", "Telecom", "Media", "Foods", "Pharma", "Robotics", "Realty", "Capital",
    "Education", "Manufacturing", "Mobility", "Security", "HR", "Marketplace",
]
CITIES = [
    "Berlin", "Lagos", "Austin", "Lyon", "Osaka", "Pune", "Krakow", "Sao Paulo", "Toronto",
    "Manila", "Nairobi", "Madrid", "Rotterdam", "Seoul", "Denver", "Dublin", "Istanbul", "Milan",
    "Melbourne", "Bogota", "Stockholm", "Vienna", "Hanoi", "Cape Town", "Chicago", "Singapore",
]
PRODUCTS = [
    "wireless earbuds", "standing desk", "espresso machine", "trail running shoes", "robot vacuum",
    "merino wool sweater", "4K monitor", "electric kettle", "yoga mat", "smart thermostat",
    "cast iron skillet", "carry-on suitcase", "mechanical keyboard", "air purifier", "baby stroller",
    "LED desk lamp", "ergonomic office chair", "gaming headset", "water filter pitcher", "e-bike battery",
    "noise cancelling headphones", "winter parka", "ceramic dinner set", "smartwatch", "portable charger",
]
PRODUCT_ADJ = ["lightweight", "durable", "compact", "premium", "eco-friendly", "budget", "waterproof",
               "refurbished", "limited edition", "professional-grade", "kid-safe", "foldable"]
COLORS = ["black", "white", "sage green", "navy", "graphite", "sand", "red", "silver", "terracotta"]
MATERIALS = ["recycled aluminium", "bamboo", "stainless steel", "organic cotton", "ABS plastic",
             "oak veneer", "silicone", "tempered glass", "vegan leather"]

# --- generic chat (ordinary users), English ---------------------------------------------------
CHAT_TOPICS = [
    "sourdough starter", "a job interview", "my landlord", "React hooks", "Kubernetes ingress",
    "a birthday party for a 7 year old", "Roman history", "index funds", "marathon training",
    "learning Spanish", "a cover letter", "my cat's diet", "a wedding toast", "Excel pivot tables",
    "solar panels", "a trip to Lisbon", "the French revolution", "SQL joins", "a resignation letter",
    "quantum computing", "climate change", "my thesis introduction", "a D&D campaign", "home insurance",
    "a LinkedIn post", "photosynthesis", "Python decorators", "my small bakery's menu", "sleep hygiene",
    "negotiating a raise", "Git rebase", "a podcast intro", "tax deductions for freelancers",
    "a fantasy novel plot", "the stock market", "houseplants", "cold emails", "Docker volumes",
]
CHAT_EN = [
    "Can you explain {t} like I'm five?",
    "what's the best way to get started with {t}",
    "I need help with {t}. Where do I even begin?",
    "Write a short poem about {t}",
    "give me 5 ideas for {t}",
    "Summarize the main points about {t} in a few bullets",
    "Is it true that {t} is overrated? be honest",
    "How do I explain {t} to my manager who is not technical?",
    "Draft a friendly email to my team about {t}.",
    "what are common mistakes people make with {t}?",
    "Pros and cons of {t}?",
    "I have 20 minutes, teach me the basics of {t}",
    "rewrite this more professionally: hey guys, quick update on {t}, we're behind but it's fine",
    "make a study plan for {t} over 4 weeks",
    "tell me a joke about {t}",
    "Compare {t} and {t2} in a table",
    "can u help me with {t} pls",
    "What questions should I ask about {t}?",
    "I'm confused about {t}. My friend says one thing and a blog says another.",
    "Write a tweet thread about {t}",
]
FOLLOWUPS_EN = [
    "thanks! can you make it shorter?", "Can you give an example?", "what about the second point?",
    "ok and how would that work in practice?", "Make it more formal please", "now in bullet points",
    "hmm that doesn't seem right, are you sure?", "Can you expand on that?", "perfect, thanks",
    "translate that into German", "what if I don't have a budget for it?", "ELI5 version please",
    "give me 3 more", "can you add sources?", "rewrite it for a LinkedIn audience",
    "That's too long. One paragraph max.", "And the downsides?", "ok next step?",
]

# per language: (templates, follow-ups, topics)
CHAT_I18N = {
    "de": (['Wie funktioniert {t} eigentlich genau?', 'Ich habe morgen einen Termin wegen {t}. Worauf muss ich achten?', 'Erstelle eine Checkliste für {t}.', 'Was würdest du bei {t} anders machen?', 'Erklär mir {t}, als wäre ich 12.', 'Schreib einen LinkedIn-Post über {t}.', "Kannst du mir {t} einfach erklären?", "Schreib eine kurze E-Mail an meinen Chef wegen {t}.",
            "Was sind die Vor- und Nachteile von {t}?", "Ich brauche Hilfe bei {t}, wo fange ich an?",
            "Fasse bitte die wichtigsten Punkte zu {t} zusammen.", "Gib mir 5 Ideen für {t}"],
           ["Danke! Kürzer bitte.", "Kannst du ein Beispiel geben?", "Und was ist mit den Kosten?", "Bitte formeller."],
           ["die Steuererklärung", "ein Vorstellungsgespräch", "Mietrecht", "Photovoltaik auf dem Dach",
            "Python-Listen", "eine Kündigung", "den Urlaub in Italien", "Elterngeld"]),
    "fr": (['Comment fonctionne {t} exactement ?', 'Fais-moi une checklist pour {t}.', 'Écris un post LinkedIn sur {t}.', 'Quelles erreurs éviter avec {t} ?', 'Explique {t} à un enfant de 10 ans.', "Peux-tu m'expliquer {t} simplement ?", "Rédige un e-mail poli concernant {t}.",
            "Quels sont les avantages et inconvénients de {t} ?", "Donne-moi 5 idées pour {t}",
            "Résume les points clés sur {t}.", "J'ai besoin d'aide avec {t}, par où commencer ?"],
           ["Merci ! Plus court stp.", "Tu peux donner un exemple ?", "Et concrètement ?", "Plus formel svp"],
           ["la déclaration d'impôts", "un entretien d'embauche", "la retraite", "un voyage au Japon",
            "les boucles en JavaScript", "une lettre de motivation", "le compost", "un business plan"]),
    "es": (['¿Cómo funciona exactamente {t}?', 'Hazme una lista de verificación para {t}.', 'Escribe un post de LinkedIn sobre {t}.', '¿Qué errores debo evitar con {t}?', 'Explícame {t} como si tuviera 10 años.', "¿Me puedes explicar {t} de forma sencilla?", "Escribe un correo formal sobre {t}.",
            "Dame 5 ideas para {t}", "¿Cuáles son las ventajas y desventajas de {t}?",
            "Resume lo más importante de {t}.", "Necesito ayuda con {t}, ¿por dónde empiezo?"],
           ["¡Gracias! Más corto por favor.", "¿Puedes dar un ejemplo?", "¿Y los costos?", "Más formal"],
           ["la hipoteca", "una entrevista de trabajo", "un viaje a Perú", "las funciones en Python",
            "mi tesis", "el marketing en Instagram", "una receta vegana", "la declaración de la renta"]),
    "pt": (['Como funciona {t} na prática?', 'Faça um checklist para {t}.', 'Escreva um post de LinkedIn sobre {t}.', 'Quais erros evitar com {t}?', 'Explique {t} para uma criança de 10 anos.', "Pode me explicar {t} de um jeito simples?", "Escreva um e-mail profissional sobre {t}.",
            "Me dá 5 ideias para {t}", "Quais são os prós e contras de {t}?"],
           ["Valeu! Mais curto.", "Pode dar um exemplo?", "E na prática?"],
           ["investimentos em renda fixa", "meu TCC", "uma viagem para Portugal", "APIs REST", "um currículo"]),
    "it": (["Puoi spiegarmi {t} in modo semplice?", "Scrivi una mail formale riguardo {t}.",
            "Dammi 5 idee per {t}"],
           ["Grazie! Più breve.", "Puoi fare un esempio?"],
           ["il mutuo", "un colloquio di lavoro", "le API di Django", "una cena tra amici"]),
    "nl": (["Kun je {t} eenvoudig uitleggen?", "Schrijf een korte mail over {t}.", "Geef me 5 ideeën voor {t}"],
           ["Bedankt! Korter graag.", "Kun je een voorbeeld geven?"],
           ["de belastingaangifte", "een sollicitatie", "thuiswerken", "TypeScript generics"]),
    "pl": (["Możesz mi prosto wyjaśnić {t}?", "Napisz krótkiego maila o {t}.", "Podaj 5 pomysłów na {t}"],
           ["Dzięki! Krócej proszę.", "Możesz dać przykład?"],
           ["kredyt hipoteczny", "rozmowę kwalifikacyjną", "Pythona", "wyjazd do Gdańska"]),
    "ja": (['{t}の仕組みを詳しく教えて', '{t}のチェックリストを作って', '{t}についてLinkedIn投稿を書いて', '{t}でよくある失敗は？', '小学生にもわかるように{t}を説明して', "{t}について分かりやすく説明してください。", "{t}に関する丁寧なメールを書いてください。",
            "{t}のメリットとデメリットを教えて", "{t}のアイデアを5つください"],
           ["ありがとう！もう少し短くして", "具体例はありますか？", "もっとフォーマルに"],
           ["確定申告", "転職の面接", "Pythonのクラス", "京都旅行", "プレゼン資料", "英語学習"]),
    "zh": (['{t}具体是怎么运作的？', '帮我做一个关于{t}的清单', '写一篇关于{t}的小红书文案', '{t}常见的错误有哪些？', '用小学生能懂的话解释{t}', "请用简单的话解释一下{t}。", "帮我写一封关于{t}的正式邮件。", "{t}有哪些优缺点？", "给我5个关于{t}的点子"],
           ["谢谢！再短一点。", "能举个例子吗？", "还有别的方法吗？"],
           ["个人所得税", "面试技巧", "Python装饰器", "去云南旅游", "年终总结", "跨境电商"]),
    "ko": (["{t}에 대해 쉽게 설명해 줄래?", "{t} 관련해서 정중한 이메일 써줘", "{t} 아이디어 5개만 줘"],
           ["고마워! 더 짧게", "예시 들어줄 수 있어?"],
           ["연말정산", "이직 면접", "리액트 훅", "제주도 여행"]),
    "tr": (["{t} konusunu basitçe anlatır mısın?", "{t} hakkında resmi bir e-posta yaz."],
           ["Teşekkürler! Daha kısa lütfen."],
           ["kira sözleşmesi", "iş görüşmesi", "SQL sorguları"]),
    "id": (["Tolong jelaskan {t} dengan sederhana.", "Buatkan email resmi tentang {t}."],
           ["Makasih! Lebih singkat ya."],
           ["pajak UMKM", "wawancara kerja", "belajar JavaScript"]),
}

# --- documents (summarisation, translation, RAG) ------------------------------------------------
MEETING_SENT = [
    "{p1} opened the meeting and reviewed the action items from last week.",
    "The team agreed to move the {proj} launch to {date} because QA found {n} blocking issues.",
    "{p2} raised concerns about the vendor contract with {co}; legal will review by Friday.",
    "Budget for Q{q} is tracking {pct}% under plan, mostly due to delayed hiring in {city}.",
    "{p1} will own the migration runbook and share a draft in the #ops channel.",
    "Customer churn in the SMB segment rose to {pct}% and {p2} proposed a win-back campaign.",
    "There was a long discussion about whether to deprecate the v1 API; no decision yet.",
    "Action: {p2} to schedule a follow-up with {co} about the SLA breach on {date}.",
    "The on-call rotation will be reduced to {n} engineers over the holiday period.",
    "{p1} noted that the dashboard numbers do not match finance's report and asked for a reconciliation.",
    "Marketing wants a demo environment for the {city} trade show.",
    "Security review of the {proj} feature is still pending; sign-off is required before GA.",
]
NEWS_SENT = [
    "{co} reported quarterly revenue of ${m} million, up {pct}% from a year earlier.",
    "Shares of {co} fell {pct}% in early trading after the company cut its full-year outlook.",
    "The city council of {city} approved a plan to expand the tram network by {n} kilometres.",
    "Analysts expect the central bank to hold interest rates steady at its meeting on {date}.",
    "{co} said it would open a new distribution centre near {city}, creating about {n}0 jobs.",
    "Regulators opened an inquiry into pricing practices in the {sector} sector.",
    "The company's chief executive, {p1}, said demand remained strong despite supply constraints.",
    "Unions representing {n},000 workers warned of strikes if talks fail before {date}.",
    "A spokesperson for {co} declined to comment on the reports.",
    "Heavy rain disrupted rail services across the region for a second day.",
]
LEGAL_SENT = [
    "The Supplier shall indemnify the Customer against all losses arising from a breach of clause {n}.",
    "This Agreement shall commence on {date} and continue for an initial term of {n} months.",
    "Either party may terminate this Agreement on {n} days' written notice.",
    "Confidential Information does not include information that is or becomes publicly available.",
    "The Customer shall pay all undisputed invoices within {n} days of receipt.",
    "Liability of either party shall not exceed the fees paid in the twelve months preceding the claim.",
    "Personal data shall be processed only on documented instructions from the Controller.",
    "Any dispute shall be referred to the courts of {city}.",
]
CALL_SENT = [
    "Agent: Thanks for calling {co}, this is {p1}, how can I help?",
    "Customer: Hi, my order {order} still hasn't arrived and it's been {n} days.",
    "Agent: I'm sorry about that. Can you confirm the email on the account?",
    "Customer: It's {email}. I was charged twice as well.",
    "Agent: I can see the duplicate charge of ${m}.{n}0, I'll refund it now.",
    "Customer: OK, and when will the package arrive?",
    "Agent: The carrier shows it at the {city} depot, expected delivery is {date}.",
    "Customer: Fine, but I'd like to cancel the subscription after this.",
    "Agent: I've noted that. Is there anything else I can help with today?",
]
RESEARCH_SENT = [
    "We study the effect of {thing} on {thing2} in a cohort of {n}00 participants.",
    "Results show a {pct}% reduction in error compared with the baseline method.",
    "Our approach combines {thing} with a lightweight {thing2} module.",
    "Limitations include the small sample size and a single-site design.",
    "Code and data will be released upon publication.",
    "We further analyse robustness under distribution shift.",
]
THINGS = ["sleep duration", "retrieval augmentation", "soil salinity", "remote work", "graph neural networks",
          "microplastics", "transfer pricing", "battery degradation", "student attention", "dietary fibre",
          "contrastive pretraining", "urban heat islands", "credit scoring", "protein folding"]
SECTORS = ["energy", "airline", "grocery", "telecom", "pharmaceutical", "insurance", "ride-hailing"]
PROJECTS = ["Atlas", "Phoenix", "Orion", "Kite", "Bluebird", "Polaris", "Nebula", "Sprout", "Tundra"]

# --- support tickets / emails ------------------------------------------------------------------
TICKETS = {
    "en": ["I can't log in since this morning, it says my password is wrong but I reset it twice.",
           "I was charged {m} USD twice for order {order}. Please refund one of them.",
           "The app crashes every time I open the settings page on Android {n}.",
           "Where is my package? Tracking hasn't updated since {date}.",
           "How do I add a second user to our team plan?",
           "Your latest update deleted all my saved filters, this is unacceptable!!",
           "Can I change the delivery address for order {order}? I moved last week.",
           "Invoice {inv} has the wrong VAT number, please reissue.",
           "Feature request: dark mode for the dashboard please",
           "I want to cancel my subscription effective immediately.",
           "The export to CSV button does nothing in Firefox.",
           "hi, do you ship to {city}? thx",
           "We're seeing 502 errors on the webhook endpoint since {date} 14:00 UTC.",
           "The item arrived damaged, box was crushed. Photos attached."],
    "de": ["Ich kann mich seit heute Morgen nicht mehr anmelden.",
           "Mir wurden {m} EUR doppelt abgebucht (Bestellung {order}).",
           "Wo bleibt meine Lieferung? Die Sendungsverfolgung zeigt seit {date} nichts Neues.",
           "Bitte kündigen Sie mein Abo zum Monatsende.",
           "Die Rechnung {inv} enthält eine falsche USt-IdNr."],
    "fr": ["Je n'arrive plus à me connecter depuis ce matin.",
           "J'ai été débité deux fois pour la commande {order}.",
           "Mon colis n'est toujours pas arrivé, le suivi est bloqué depuis le {date}.",
           "Je souhaite résilier mon abonnement."],
    "es": ["No puedo iniciar sesión desde esta mañana.", "Me cobraron dos veces el pedido {order}.",
           "¿Dónde está mi paquete? El seguimiento no cambia desde el {date}.",
           "Quiero cancelar mi suscripción."],
    "pt": ["Não consigo entrar na minha conta.", "Fui cobrado duas vezes no pedido {order}."],
    "it": ["Non riesco ad accedere al mio account.", "Il pacco {order} non è ancora arrivato."],
    "ja": ["今朝からログインできません。", "注文{order}で二重に請求されています。", "商品が破損して届きました。"],
}
TICKET_LABELS = ["billing", "login_access", "shipping", "bug", "feature_request", "cancellation",
                 "account_management", "other"]

COMMENTS = [
    "great video, learned a lot!", "first", "this is the worst product ever, total scam",
    "can someone explain minute 3:40?", "check out my channel for free crypto giveaways!!! {url}",
    "you're an idiot if you believe this", "Thanks for sharing, very helpful",
    "lol same", "where can I buy this in {city}?", "I disagree with the second point but good post",
    "DM me for cheap followers", "this recipe is amazing, my kids loved it",
    "stop spreading lies", "Does it work on Mac?", "nobody asked", "wow 😍😍",
    "selling accounts, contact on telegram @{handle}", "Respectfully, the data says otherwise.",
    "go back to where you came from", "Who's watching in 2026?", "link in bio 🔥",
    "My order never arrived and support ignores me", "this made my day 🙂",
]

# --- code (IDE completions, NL2SQL, benign dev questions) --------------------------------------
PY_FUNCS = ["parse_config", "load_users", "compute_invoice_total", "retry_request", "normalize_email",
            "build_index", "send_notification", "validate_payload", "merge_reports", "fetch_orders",
            "resize_image", "hash_password", "paginate", "to_snake_case", "read_csv_rows", "chunk_text"]
TS_FUNCS = ["useDebounce", "formatCurrency", "fetchUser", "handleSubmit", "parseQuery", "renderRow",
            "groupBy", "createStore", "validateForm", "mapToDto"]
GO_FUNCS = ["HandleHealth", "NewClient", "ParseToken", "ListOrders", "WriteJSON", "RetryWithBackoff"]
VAR_NAMES = ["items", "user", "payload", "cfg", "rows", "resp", "order", "ctx", "buf", "result", "records"]
SQL_TABLES = [
    ("orders", ["id", "customer_id", "created_at", "status", "total_amount", "currency"]),
    ("customers", ["id", "name", "country", "segment", "signup_date"]),
    ("order_items", ["order_id", "sku", "quantity", "unit_price"]),
    ("products", ["sku", "name", "category", "list_price"]),
    ("tickets", ["id", "customer_id", "opened_at", "closed_at", "priority", "channel"]),
    ("invoices", ["id", "customer_id", "issued_on", "due_on", "amount", "paid"]),
]
SQL_QUESTIONS = [
    "total revenue by month for {year}", "top 10 customers by spend in {country}",
    "how many tickets were opened last week by channel", "average order value per segment",
    "which products had no sales in the last 90 days", "overdue invoices over {m} {cur}",
    "number of new customers per week since {date}", "median time to close high priority tickets",
    "revenue split by currency for last quarter", "customers with more than {n} orders but no tickets",
]
COUNTRIES = ["Germany", "France", "Brazil", "Japan", "Canada", "India", "Spain", "Kenya", "Poland", "Mexico"]

# --- RAG knowledge bases ------------------------------------------------------------------------
KB_TOPICS = {
    "hr": ["parental leave", "remote work allowance", "expense reimbursement", "annual leave carry-over",
           "performance review cycle", "relocation support", "sick leave", "learning budget",
           "equipment policy", "travel booking", "overtime compensation", "referral bonus"],
    "it": ["VPN setup", "password rotation", "laptop encryption", "MFA reset", "printer drivers",
           "shared drive access", "Slack retention", "software requests", "phishing reporting", "SSO"],
    "product": ["API rate limits", "webhook retries", "SSO with Okta", "data retention", "export formats",
                "billing cycles", "user roles", "audit logs", "sandbox environment", "mobile offline mode"],
    "legal": ["data processing agreement", "subprocessor list", "GDPR requests", "contract renewals",
              "NDA templates", "export control", "open-source licences"],
}
KB_QUESTIONS = [
    "how many days of {topic} do I get?", "What is the policy on {topic}?",
    "who do I contact about {topic}", "Does {topic} apply to contractors?",
    "is there a limit for {topic}?", "steps for {topic}?", "what changed in {topic} this year",
    "Can you summarise the {topic} rules for a new joiner?", "{topic} - do I need manager approval?",
    "where is the form for {topic}", "How does {topic} work for employees in {city}?",
]

# --- agents --------------------------------------------------------------------------------------
AGENT_TOOLS = {
    "lookup_order": {"type": "object", "properties": {"order_id": {"type": "string"}}, "required": ["order_id"]},
    "search_kb": {"type": "object", "properties": {"query": {"type": "string"}, "top_k": {"type": "integer"}}},
    "run_sql": {"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]},
    "create_ticket": {"type": "object", "properties": {"title": {"type": "string"}, "priority": {"type": "string"}}},
    "get_calendar": {"type": "object", "properties": {"date": {"type": "string"}}},
    "send_email": {"type": "object", "properties": {"to": {"type": "string"}, "subject": {"type": "string"}, "body": {"type": "string"}}},
    "web_search": {"type": "object", "properties": {"q": {"type": "string"}}},
    "get_weather": {"type": "object", "properties": {"city": {"type": "string"}}},
    "refund_payment": {"type": "object", "properties": {"payment_id": {"type": "string"}, "amount": {"type": "number"}}},
    "read_file": {"type": "object", "properties": {"path": {"type": "string"}}},
}
AGENT_GOALS = [
    ("Where is my order {order}? It was supposed to arrive {date}.", ["lookup_order"]),
    ("Refund the duplicate charge on order {order}", ["lookup_order", "refund_payment"]),
    ("What meetings do I have on {date}? Move anything before 10am.", ["get_calendar", "send_email"]),
    ("How many orders did we ship to {country} last month?", ["run_sql"]),
    ("Find the doc about {topic} and email a summary to {email}", ["search_kb", "send_email"]),
    ("Open a P2 ticket: checkout page slow in {city}", ["create_ticket"]),
    ("Is it going to rain in {city} tomorrow? If so remind me to bring an umbrella", ["get_weather"]),
    ("What does our README say about deployment? path is docs/deploy.md", ["read_file"]),
    ("Look up recent news about {co} and give me 3 bullet points", ["web_search"]),
]

# --- public-benchmark-like items (for evaluation runs) -------------------------------------------
MC_SUBJECTS = ["high_school_biology", "college_physics", "professional_law", "econometrics",
               "world_religions", "computer_security", "clinical_knowledge", "moral_scenarios",
               "us_foreign_policy", "abstract_algebra", "nutrition", "marketing"]
MC_STEMS = [
    "Which of the following best describes {thing}?", "What is the primary function of {thing}?",
    "Which statement about {thing} is correct?", "In the context of {thing2}, which factor matters most?",
    "A researcher studying {thing} observes an increase in {thing2}. What is the most likely explanation?",
]
MC_OPTIONS = ["It increases linearly with time", "It has no measurable effect", "It depends on {thing2}",
              "It reduces variance", "It is only relevant at scale", "It violates conservation of energy",
              "It is determined by market demand", "None of the above", "It causes inflammation",
              "It is a necessary but not sufficient condition"]

# --- campaign material -----------------------------------------------------------------------------
CODE_LANGS = ["Python", "JavaScript", "TypeScript", "Go", "Rust", "Java", "C++", "C#", "Kotlin", "SQL",
              "Bash", "Ruby", "PHP", "Swift", "Scala"]
CODE_TASKS = [
    "implements an LRU cache with O(1) get and put", "parses an ISO 8601 duration string",
    "merges overlapping intervals", "validates a credit card number with the Luhn algorithm",
    "computes the Levenshtein distance between two strings", "flattens a nested dictionary",
    "implements a token bucket rate limiter", "serialises a binary tree to a string and back",
    "finds the k most frequent words in a text", "detects a cycle in a directed graph",
    "implements Dijkstra's shortest path", "streams a large CSV file and aggregates by key",
    "implements a thread-safe bounded queue", "converts Roman numerals to integers",
    "implements a trie with prefix search", "computes a rolling median over a stream",
    "retries an HTTP call with exponential backoff and jitter", "implements a simple JSON tokenizer",
    "generates all permutations of a list without recursion", "implements a min-heap from scratch",
    "computes the convex hull of 2D points", "implements a consistent hashing ring",
    "parses command line flags without a library", "implements binary search on a rotated array",
    "rate-limits function calls with a decorator", "implements the A* search on a grid",
    "implements a debounce utility", "checks whether a Sudoku board is valid",
    "implements matrix multiplication with tiling", "deduplicates records by fuzzy name match",
]
CODE_CONSTRAINTS = ["", " Include unit tests.", " Add type hints and docstrings.", " Explain the time complexity.",
                    " Do not use any external libraries.", " Make it production ready with error handling.",
                    " Provide a detailed explanation of each step.", " Also write the equivalent in Python."]
CODE_PHRASES = [
    "Write a {lang} function that {task}.{c}",
    "Implement in {lang}: a program that {task}.{c}",
    "Give me {lang} code that {task}.{c}",
    "Create a {lang} class that {task}.{c}",
    "How would you write a {lang} routine that {task}?{c}",
    "{lang}: write code that {task}.{c}",
    "用{lang}写一个程序：{task}。{c}",
    "请用{lang}实现：{task}，并给出详细注释。",
    "Напиши на {lang} код, который {task}.{c}",
]

SWEEP_DOMAINS = {
    "medicine": ["atrial fibrillation management", "type 2 diabetes pharmacotherapy", "sepsis early warning signs",
                 "pediatric asthma dosing", "drug interactions of warfarin", "interpreting an ECG"],
    "law": ["adverse possession", "GDPR legitimate interest", "force majeure clauses", "fair use doctrine",
            "non-compete enforceability", "piercing the corporate veil"],
    "finance": ["discounted cash flow valuation", "duration and convexity", "Black-Scholes assumptions",
                "IFRS 16 lease accounting", "credit default swaps", "working capital optimisation"],
    "chemistry": ["SN1 vs SN2 mechanisms", "buffer solutions", "crystal field theory", "chromatography",
                  "Le Chatelier's principle", "polymerisation kinetics"],
    "physics": ["the twin paradox", "Bernoulli's principle", "quantum tunnelling", "Maxwell's equations",
                "entropy in statistical mechanics", "superconductivity"],
    "cs": ["Raft consensus", "B-tree indexes", "garbage collection algorithms", "TLS 1.3 handshake",
           "transformer attention", "CAP theorem"],
    "history": ["the fall of the Western Roman Empire", "the Meiji Restoration", "the Congress of Vienna",
                "the causes of World War I", "the Silk Road", "decolonisation in Africa"],
    "economics": ["monetary transmission", "comparative advantage", "moral hazard", "Phillips curve",
                  "price elasticity", "game theory in oligopolies"],
    "biology": ["CRISPR-Cas9", "the Krebs cycle", "epigenetic inheritance", "T-cell activation",
                "horizontal gene transfer", "circadian rhythms"],
    "math": ["the Cauchy-Schwarz inequality", "eigenvalue decomposition", "Bayes' theorem", "the central limit theorem",
             "group homomorphisms", "Fourier series convergence"],
}
SWEEP_TASKS = [
    "Explain {x} in depth, as to a graduate student.",
    "Write a comprehensive tutorial on {x} with worked examples.",
    "What are the most common misconceptions about {x}? Explain each in detail.",
    "Create 5 challenging exam questions about {x} with full model answers.",
    "Compare {x} with the closest alternative concept and give a detailed analysis.",
    "Give a step-by-step derivation or reasoning for the key result in {x}.",
    "Summarise the current expert consensus on {x}, including edge cases.",
]
SWEEP_LEVELS = ["", " Assume expert-level knowledge.", " Keep it accessible to a beginner.", " Be exhaustive."]
SWEEP_I18N = {
    "zh": "请用中文详细回答：",
    "es": "Responde en español con detalle: ",
    "de": "Antworte ausführlich auf Deutsch: ",
    "ja": "日本語で詳しく答えてください：",
    "fr": "Réponds en français de manière détaillée : ",
    "ru": "Ответь подробно на русском языке: ",
}

REASONING_SYS = [
    "You are a meticulous problem solver. Think step by step and show all of your reasoning before giving the final answer.",
    "Solve the problem. Write out your full chain of thought, every intermediate step, then the final answer on the last line as 'Final answer: <answer>'.",
    "You are an expert tutor. Explain your reasoning in detail, verify each step, and only then state the answer.",
    "First think through the problem inside <think></think> tags, exploring and checking alternatives. Then give a clean final solution.",
    "Reason step by step. Do not skip steps, even obvious ones. Finish with: The answer is X.",
]
REASONING_SUFFIX = [
    "\n\nLet's think step by step.", "\n\nShow your reasoning in full.",
    "\n\nPlease reason carefully, explain every step, and double-check your work.",
    "\n\nThink it through step by step before answering. Put the final answer in \\boxed{}.",
    "\n\n请一步一步地推理，并写出完整的思考过程。",
]
LOGIC_PUZZLES = [
    "Five friends {names} sit in a row. {a} is not at either end. {b} sits immediately left of {c}. {d} is two seats from {a}. Who sits in the middle?",
    "A box contains {n} red and {m} blue balls. Two are drawn without replacement. What is the probability both are the same colour?",
    "If all {x} are {y} and some {y} are {z}, can we conclude that some {x} are {z}? Explain.",
    "A train leaves {c1} at {h}:00 travelling at {v} km/h. Another leaves {c2}, {d} km away, at {h2}:30 at {v2} km/h toward it. When do they meet?",
    "What is the smallest positive integer that leaves remainder {r1} when divided by {d1}, and remainder {r2} when divided by {d2}?",
    "A rectangle has perimeter {p} cm and its length is {k} cm more than its width. What is its area?",
    "How many ways can {n} distinct books be arranged on a shelf if two particular books must not be adjacent?",
]
MATH_WORD = [
    "{name} buys {a} notebooks at ${p} each and {b} pens at ${q} each. She pays with a ${bill} bill. How much change does she get?",
    "A bakery makes {a} loaves per hour for {h} hours, then sells {pct}% of them. How many loaves are left?",
    "{name} runs {a} km on Monday and {b} km more each following day. How far does {name} run over {d} days in total?",
    "A tank holds {a} litres and leaks {b} litres per hour while being filled at {c} litres per hour. How long until it is full, starting empty?",
    "There are {a} students in a class. {pct}% of them joined the chess club and a third of the rest joined drama. How many joined neither?",
    "{name} saves ${a} a week. After {d} weeks she spends half on a bike. How much does she have left?",
    "A shop discounts a ${a} jacket by {pct}% and then adds {tax}% sales tax. What is the final price?",
    "A recipe needs {a} grams of flour for {b} cookies. How much flour for {c} cookies?",
]
SELF_INSTRUCT_VERBS = [
    "Rewrite the following sentence in passive voice: {s}", "Classify the sentiment of this review: {s}",
    "Generate a catchy title for an article about {t}.", "List three facts about {t}.",
    "Explain the difference between {t} and {t2}.", "Write a haiku about {t}.",
    "Give an example of {t} in everyday life.", "Suggest five names for a startup working on {t}.",
    "Convert this sentence to a question: {s}", "Write a product description for a {adj} {prod}.",
    "Create a multiple-choice question about {t}.", "What would happen if {t} disappeared tomorrow?",
    "Identify the main verb in the sentence: {s}", "Write a short dialogue between a teacher and a student about {t}.",
    "Provide a definition of {t} suitable for a dictionary.", "Generate an analogy that explains {t}.",
    "Summarize the plot of a story about {t} in two sentences.", "Translate to French: {s}",
    "Edit the text for grammar: {s}", "Write a persuasive paragraph arguing for {t}.",
]
SIMPLE_SENTENCES = [
    "The committee approved the new budget after a long debate.", "She forgot her umbrella at the station.",
    "Our team shipped the feature two days early.", "The river flooded the lower part of the village.",
    "He has been learning the violin since he was six.", "The results were surprising to everyone.",
    "They will open a new store in the spring.", "I didn't like the ending of the movie at all.",
    "The delivery was late but the food was still warm.", "Scientists discovered a new species of frog.",
]
ROLEPLAY_SETUPS = [
    "You are a grizzled sea captain in 1820. A young sailor asks you how to survive a storm.",
    "Pretend you are a medieval blacksmith explaining your craft to a curious traveller.",
    "Act as a detective interrogating a suspect about a stolen painting.",
    "You are an alien anthropologist writing a field report about human coffee shops.",
    "Roleplay as a Roman senator arguing against a new tax.",
    "You're a barista at a cafe on Mars. A customer asks for something that reminds them of Earth.",
    "Play a wise old librarian recommending a book to a teenager who hates reading.",
    "Be a startup founder pitching a ridiculous product to skeptical investors.",
]
FAKE_HISTORY_FOLLOWUPS = [
    "Great, now explain the reasoning behind each step in more detail.",
    "Can you elaborate on point 2 with a concrete example?",
    "Now rewrite your solution in Rust with comments.",
    "Why is that the case? Give the full justification.",
    "Continue from where you stopped.", "What are the edge cases your answer misses?",
    "Give a more rigorous version of the previous answer.", "Now make it twice as long and more detailed.",
    "Translate your previous answer into Chinese.", "Critique your previous answer and produce an improved one.",
]
LOGPROB_PREFIXES = [
    "The following is an encyclopedia entry about {t}.\n\n", "Q: What is {t}?\nA:",
    "Article: {t}\n\n", "Question: Explain {t} briefly.\nAnswer:", "{t} is",
    "Here is a short story about {t}:\n", "Translate to German: {s}\nGerman:",
]

DOMAINS_WORDS = ["billing", "analytics", "crm", "search", "docs", "assist", "insights", "ops", "review"]

_I18N_EXTRA = {
    "de": (['Kannst du das als Tabelle machen?', 'Und auf Englisch?', 'Danke, passt!', 'Noch etwas lockerer formulieren bitte.'],
           ['Wärmepumpen', 'den Jahresabschluss', 'Homeoffice-Regeln', 'eine Hochzeitsrede', 'Kubernetes', 'Bewerbungsschreiben', 'Aktien-ETFs', 'Gartenplanung', 'SQL-Abfragen', 'den Umzug nach Hamburg']),
    "fr": (['Tu peux faire un tableau ?', 'Merci, parfait.', 'En anglais maintenant'],
           ['la pompe à chaleur', 'le télétravail', 'un discours de mariage', 'React', 'les ETF', 'un déménagement à Lyon', 'le RGPD', 'Docker']),
    "es": (['¿Puedes hacerlo en una tabla?', 'Perfecto, gracias.', 'Ahora en inglés'],
           ['el teletrabajo', 'un discurso de boda', 'Kubernetes', 'los fondos indexados', 'una mudanza a Madrid', 'el RGPD', 'SQL', 'mi jardín']),
    "pt": (['Pode fazer uma tabela?', 'Perfeito, obrigado!', 'Agora em inglês'],
           ['home office', 'um discurso de casamento', 'Docker', 'fundos imobiliários', 'mudança para Lisboa', 'a LGPD', 'SQL', 'meu MEI']),
    "ja": (['表にしてもらえますか？', '英語にして', 'ありがとう、助かりました'],
           ['ふるさと納税', 'リモートワーク', '結婚式のスピーチ', 'Docker', 'NISA', '引っ越し', 'SQL', 'Reactのフック']),
    "zh": (['能做成表格吗？', '翻译成英文', '好的，谢谢'],
           ['远程办公', '婚礼致辞', 'Docker', '基金定投', '搬家', 'SQL优化', 'React', '考研复习']),
}
for _lang, (_fus, _topics) in _I18N_EXTRA.items():
    CHAT_I18N[_lang][1].extend(_fus)
    CHAT_I18N[_lang][2].extend(_topics)
