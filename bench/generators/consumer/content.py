# -*- coding: utf-8 -*-
"""Hand-written prompt material for the consumer/developer traffic generator.

Everything here was written for this generator: vocabularies, templates and
filler sentences in several languages. Nothing is copied from a dataset.
"""

LANGS = ["en", "es", "pt", "fr", "de", "it", "ru", "zh", "ja", "ko", "hi", "ar",
         "id", "tr", "vi", "pl", "nl", "uk"]

LANG_NAMES = {
    "en": "English", "es": "Spanish", "pt": "Portuguese", "fr": "French", "de": "German",
    "it": "Italian", "ru": "Russian", "zh": "Chinese (Simplified)", "ja": "Japanese",
    "ko": "Korean", "hi": "Hindi", "ar": "Arabic", "id": "Indonesian", "tr": "Turkish",
    "vi": "Vietnamese", "pl": "Polish", "nl": "Dutch", "uk": "Ukrainian", "sw": "Swahili",
    "th": "Thai", "he": "Hebrew", "el": "Greek", "cs": "Czech", "sv": "Swedish",
    "fa": "Persian", "bn": "Bengali", "ro": "Romanian", "hu": "Hungarian", "fi": "Finnish",
    "ms": "Malay", "tl": "Tagalog",
}

# Where users of each language tend to sit: (country, utc offset hours)
LANG_GEO = {
    "en": [("US", -5), ("US", -8), ("US", -6), ("GB", 0), ("CA", -5), ("AU", 10), ("IN", 5.5),
           ("NG", 1), ("PH", 8), ("IE", 0), ("ZA", 2), ("SG", 8)],
    "es": [("ES", 1), ("MX", -6), ("AR", -3), ("CO", -5), ("CL", -3), ("PE", -5)],
    "pt": [("BR", -3), ("BR", -3), ("PT", 0)],
    "fr": [("FR", 1), ("BE", 1), ("CA", -5), ("SN", 0), ("MA", 1)],
    "de": [("DE", 1), ("AT", 1), ("CH", 1)],
    "it": [("IT", 1)],
    "ru": [("RU", 3), ("KZ", 5), ("RU", 7)],
    "zh": [("TW", 8), ("SG", 8), ("HK", 8), ("MY", 8)],
    "ja": [("JP", 9)],
    "ko": [("KR", 9)],
    "hi": [("IN", 5.5)],
    "ar": [("EG", 2), ("SA", 3), ("AE", 4), ("MA", 1)],
    "id": [("ID", 7)],
    "tr": [("TR", 3)],
    "vi": [("VN", 7)],
    "pl": [("PL", 1)],
    "nl": [("NL", 1), ("BE", 1)],
    "uk": [("UA", 2)],
}

# -------------------------------------------------------------- filler text
# Used to build placeholder responses of plausible length in each language.
FILLER = {
    "en": [
        "That depends a little on what you are trying to achieve, so let me walk through the main options.",
        "The short version is that the first approach is simpler, while the second scales better over time.",
        "A common mistake here is to change several things at once, which makes it hard to see what helped.",
        "If you want a quick check, try the smallest example first and compare the result by hand.",
        "In practice most people start with the default settings and only tune them once they see a problem.",
        "Keep in mind that the numbers below are rough estimates and will vary with your situation.",
        "Here is a slightly more detailed explanation of why this works the way it does.",
        "You can think of it as two separate steps: preparing the input and then applying the rule.",
        "One more thing worth noting is that the edge cases usually matter more than the typical case.",
        "Let me know if you want me to expand any of these points or give a concrete example.",
        "The key idea is to break the problem into smaller parts that are each easy to verify.",
        "This is also why the result looks different when the input is empty or very large.",
        "Overall, the trade-off is between convenience now and flexibility later on.",
        "Another way to phrase this is that the constraint only applies at the boundary.",
        "For most readers, the second paragraph is the important one, the rest is background.",
    ],
    "es": [
        "Depende un poco de lo que quieras conseguir, así que te explico las opciones principales.",
        "La versión corta es que el primer enfoque es más sencillo y el segundo escala mejor.",
        "Un error común es cambiar varias cosas a la vez, porque luego no sabes qué funcionó.",
        "Si quieres comprobarlo rápido, prueba primero con el ejemplo más pequeño.",
        "En la práctica, casi todo el mundo empieza con la configuración por defecto.",
        "Ten en cuenta que las cifras son aproximadas y pueden variar según tu caso.",
        "Aquí tienes una explicación un poco más detallada de por qué funciona así.",
        "Dime si quieres que amplíe alguno de estos puntos o que ponga un ejemplo concreto.",
    ],
    "pt": [
        "Depende um pouco do que você quer alcançar, então vou explicar as principais opções.",
        "Resumindo, a primeira abordagem é mais simples e a segunda escala melhor com o tempo.",
        "Um erro comum é mudar várias coisas ao mesmo tempo e depois não saber o que ajudou.",
        "Se quiser uma verificação rápida, teste primeiro com o menor exemplo possível.",
        "Na prática, a maioria das pessoas começa com as configurações padrão.",
        "Lembre-se de que os números abaixo são estimativas e podem variar.",
        "Me avise se quiser que eu detalhe algum desses pontos ou dê um exemplo.",
    ],
    "fr": [
        "Cela dépend un peu de ce que vous cherchez à obtenir, voici donc les principales options.",
        "En bref, la première approche est plus simple, la seconde passe mieux à l'échelle.",
        "Une erreur fréquente consiste à modifier plusieurs choses en même temps.",
        "Pour vérifier rapidement, essayez d'abord avec le plus petit exemple possible.",
        "En pratique, la plupart des gens commencent avec les réglages par défaut.",
        "Gardez à l'esprit que ces chiffres sont des estimations approximatives.",
        "N'hésitez pas à me demander plus de détails ou un exemple concret.",
    ],
    "de": [
        "Das hängt ein wenig davon ab, was du erreichen möchtest, deshalb gehe ich die Optionen durch.",
        "Kurz gesagt ist der erste Ansatz einfacher, der zweite skaliert auf Dauer besser.",
        "Ein häufiger Fehler ist es, mehrere Dinge gleichzeitig zu ändern.",
        "Für einen schnellen Test nimm zuerst das kleinste mögliche Beispiel.",
        "In der Praxis beginnen die meisten mit den Standardeinstellungen.",
        "Beachte, dass die Zahlen nur grobe Schätzungen sind und je nach Fall variieren.",
        "Sag Bescheid, wenn ich einen der Punkte genauer erklären soll.",
    ],
    "it": [
        "Dipende un po' da cosa vuoi ottenere, quindi ti spiego le opzioni principali.",
        "In breve, il primo approccio è più semplice, il secondo scala meglio nel tempo.",
        "Un errore comune è cambiare più cose contemporaneamente.",
        "Per una verifica veloce, prova prima con l'esempio più piccolo.",
        "Fammi sapere se vuoi che approfondisca qualche punto.",
    ],
    "ru": [
        "Это немного зависит от того, чего вы хотите добиться, поэтому разберём основные варианты.",
        "Если коротко, первый подход проще, а второй лучше масштабируется.",
        "Частая ошибка — менять сразу несколько вещей, после чего непонятно, что помогло.",
        "Для быстрой проверки попробуйте сначала самый маленький пример.",
        "На практике большинство начинает с настроек по умолчанию.",
        "Учтите, что цифры ниже приблизительные и зависят от ситуации.",
        "Напишите, если нужно подробнее разобрать какой-то пункт.",
    ],
    "uk": [
        "Це трохи залежить від того, чого ви хочете досягти, тож розглянемо основні варіанти.",
        "Якщо коротко, перший підхід простіший, а другий краще масштабується.",
        "Для швидкої перевірки спробуйте спочатку найменший приклад.",
        "Напишіть, якщо потрібно детальніше пояснити якийсь пункт.",
    ],
    "zh": [
        "这要看你具体想达到什么目的，我先把几种主要的做法说一下。",
        "简单来说，第一种方法更容易上手，第二种方法在规模变大时更合适。",
        "常见的错误是同时修改好几个地方，结果不知道到底是哪一步起了作用。",
        "如果想快速验证，可以先用最小的例子试一试，再手工核对结果。",
        "实际使用中，大多数人都是先用默认设置，遇到问题再调整。",
        "需要注意的是，下面的数字只是粗略估计，具体情况会有差别。",
        "如果你希望我展开讲某一点，或者给个具体例子，请告诉我。",
    ],
    "ja": [
        "何を実現したいかによって少し変わるので、主な方法を順番に説明します。",
        "簡単に言うと、最初の方法はシンプルで、二つ目の方法は規模が大きくなっても対応しやすいです。",
        "よくある失敗は、一度に複数の箇所を変更してしまうことです。",
        "すぐに確認したい場合は、まず一番小さな例で試してみてください。",
        "実際には、ほとんどの人がデフォルト設定から始めます。",
        "他に詳しく知りたい点があれば、遠慮なく聞いてください。",
    ],
    "ko": [
        "무엇을 하려는지에 따라 조금 달라지니, 주요 방법을 차례로 설명드릴게요.",
        "간단히 말하면 첫 번째 방법이 더 쉽고, 두 번째 방법은 규모가 커져도 잘 버팁니다.",
        "흔한 실수는 여러 가지를 한꺼번에 바꾸는 것입니다.",
        "빠르게 확인하려면 가장 작은 예제로 먼저 시험해 보세요.",
        "더 자세한 설명이 필요하면 말씀해 주세요.",
    ],
    "hi": [
        "यह इस पर निर्भर करता है कि आप क्या हासिल करना चाहते हैं, इसलिए मैं मुख्य विकल्प बताता हूँ।",
        "संक्षेप में, पहला तरीका आसान है और दूसरा तरीका बड़े पैमाने पर बेहतर काम करता है।",
        "एक आम गलती है एक साथ कई चीज़ें बदल देना।",
        "अगर आप चाहें तो मैं किसी बिंदु को और विस्तार से समझा सकता हूँ।",
    ],
    "ar": [
        "يعتمد ذلك قليلاً على ما تريد تحقيقه، لذلك سأشرح الخيارات الرئيسية.",
        "باختصار، الطريقة الأولى أبسط، أما الثانية فتناسب الحجم الكبير بشكل أفضل.",
        "من الأخطاء الشائعة تغيير عدة أشياء في الوقت نفسه.",
        "أخبرني إذا أردت شرحاً أكثر تفصيلاً لأي نقطة.",
    ],
    "id": [
        "Tergantung apa yang ingin kamu capai, jadi saya jelaskan pilihan utamanya dulu.",
        "Singkatnya, cara pertama lebih sederhana, sedangkan cara kedua lebih baik untuk skala besar.",
        "Kesalahan umum adalah mengubah beberapa hal sekaligus.",
        "Kabari saya kalau mau penjelasan lebih detail atau contoh konkret.",
    ],
    "tr": [
        "Bu biraz neyi başarmak istediğinize bağlı, o yüzden ana seçenekleri anlatayım.",
        "Kısacası ilk yaklaşım daha basit, ikincisi ise büyüdükçe daha iyi ölçekleniyor.",
        "Sık yapılan bir hata, birkaç şeyi aynı anda değiştirmektir.",
        "Herhangi bir noktayı daha ayrıntılı açıklamamı isterseniz söyleyin.",
    ],
    "vi": [
        "Điều này phụ thuộc vào mục tiêu của bạn, nên mình sẽ giải thích các lựa chọn chính.",
        "Tóm lại, cách thứ nhất đơn giản hơn, còn cách thứ hai phù hợp khi quy mô lớn.",
        "Một lỗi hay gặp là thay đổi nhiều thứ cùng lúc.",
        "Bạn cứ hỏi nếu muốn mình giải thích kỹ hơn phần nào.",
    ],
    "pl": [
        "To zależy trochę od tego, co chcesz osiągnąć, więc omówię główne możliwości.",
        "W skrócie: pierwsze podejście jest prostsze, drugie lepiej się skaluje.",
        "Częstym błędem jest zmienianie kilku rzeczy naraz.",
        "Daj znać, jeśli mam rozwinąć któryś punkt.",
    ],
    "nl": [
        "Dat hangt een beetje af van wat je wilt bereiken, dus ik loop de belangrijkste opties langs.",
        "Kort gezegd is de eerste aanpak eenvoudiger en schaalt de tweede beter.",
        "Een veelgemaakte fout is meerdere dingen tegelijk veranderen.",
        "Laat het weten als je een punt verder uitgewerkt wilt hebben.",
    ],
}

CODE_LINES = [
    "def process(items):", "    result = []", "    for item in items:", "        if not item:",
    "            continue", "        result.append(transform(item))", "    return result", "",
    "function handler(req, res) {", "  const body = req.body || {};", "  if (!body.id) {",
    "    return res.status(400).json({ error: 'missing id' });", "  }", "  res.json(lookup(body.id));", "}",
    "for i in range(len(values) - 1):", "    if values[i] > values[i + 1]:", "        values[i], values[i + 1] = values[i + 1], values[i]",
    "SELECT user_id, COUNT(*) AS n", "FROM orders", "WHERE created_at >= NOW() - INTERVAL '30 days'", "GROUP BY user_id", "ORDER BY n DESC;",
    "fn parse(input: &str) -> Result<Vec<u32>, ParseIntError> {", "    input.split(',').map(|s| s.trim().parse()).collect()", "}",
    "class Cache:", "    def __init__(self, capacity):", "        self.capacity = capacity", "        self.store = OrderedDict()",
    "    def get(self, key):", "        if key not in self.store:", "            return None", "        self.store.move_to_end(key)", "        return self.store[key]",
    "if err != nil {", "    return nil, fmt.Errorf(\"read config: %w\", err)", "}",
    "const [state, setState] = useState(null);", "useEffect(() => {", "  fetchData().then(setState);", "}, []);",
]

# ---------------------------------------------------------------- chat / casual
CASUAL = {
    "en": [
        "hey, can you help me plan a 3 day trip to {city}? not too touristy pls",
        "what's a good gift for my dad who likes {hobby}? budget around $50",
        "Is it bad to drink coffee right before going to the gym?",
        "explain {topic} like I'm 12",
        "my cat keeps knocking things off the table, why do they do that",
        "I have chicken, rice, spinach and some feta. what can I make tonight",
        "give me 10 name ideas for a {hobby} podcast",
        "how do I politely tell my roommate to clean up after himself",
        "What's the difference between a Roth IRA and a traditional IRA?",
        "write a funny birthday message for my coworker {name}",
        "can you recommend some books similar to {book}?",
        "how long should I boil an egg for a runny yolk",
        "is {topic} actually real or is it a myth?",
        "Tell me a fun fact about {animal}.",
        "I can't sleep. any tips that actually work?",
        "what should I know before adopting a {animal}?",
        "Summarize the plot of {book} in 5 sentences, no spoilers for the ending",
        "help me write a text to cancel plans with a friend without sounding rude",
        "whats the best way to learn {skill} as an adult",
        "Can you make me a weekly workout plan? I can only train 3 days, no gym",
    ],
    "es": [
        "hola! me puedes ayudar a planear un viaje de 3 días a {city}?",
        "¿qué le puedo regalar a mi mamá que le gusta {hobby}?",
        "explícame {topic} de forma sencilla",
        "tengo arroz, huevos y tomates, ¿qué puedo cocinar hoy?",
        "¿cómo le digo a mi jefe que necesito un aumento?",
        "dame ideas para el cumpleaños de mi hermano de 15 años",
        "¿Es malo dormir con el celular al lado?",
        "escribe un mensaje bonito para mi novia por nuestro aniversario",
        "¿qué libros me recomiendas si me gustó {book}?",
        "¿cuál es la mejor manera de aprender {skill}?",
    ],
    "pt": [
        "oi, me ajuda a montar um roteiro de 3 dias em {city}?",
        "o que dar de presente pro meu pai que gosta de {hobby}?",
        "me explica {topic} de um jeito simples",
        "tenho frango, batata e cenoura, o que faço pro jantar?",
        "como pedir aumento sem parecer chato?",
        "escreve uma mensagem de feliz aniversário engraçada pra minha amiga",
        "qual a diferença entre CDB e tesouro direto?",
        "quero aprender {skill}, por onde começo?",
    ],
    "fr": [
        "salut, tu peux m'aider à organiser un week-end à {city} ?",
        "quelle idée de cadeau pour quelqu'un qui aime {hobby} ?",
        "explique-moi {topic} simplement",
        "j'ai des pâtes, des champignons et de la crème, je fais quoi ?",
        "comment écrire un mail poli pour relancer un client ?",
        "tu me conseilles quels livres si j'ai aimé {book} ?",
        "comment apprendre {skill} quand on a peu de temps ?",
    ],
    "de": [
        "hi, kannst du mir helfen, ein Wochenende in {city} zu planen?",
        "was schenke ich jemandem, der gerne {hobby} macht?",
        "erklär mir {topic} so, dass ich es verstehe",
        "ich habe Kartoffeln, Eier und Spinat. Was kann ich kochen?",
        "wie formuliere ich eine höfliche Absage für ein Vorstellungsgespräch?",
        "Welche Bücher sind ähnlich wie {book}?",
        "wie lerne ich am besten {skill}?",
    ],
    "it": [
        "ciao, mi aiuti a organizzare 3 giorni a {city}?",
        "cosa posso regalare a chi ama {hobby}?",
        "spiegami {topic} in modo semplice",
        "ho pasta, zucchine e pancetta, cosa cucino?",
    ],
    "ru": [
        "привет, помоги спланировать поездку в {city} на 3 дня",
        "что подарить человеку, который любит {hobby}?",
        "объясни простыми словами, что такое {topic}",
        "как вежливо отказать коллеге в просьбе?",
        "напиши поздравление с днём рождения для подруги",
        "посоветуй книги, похожие на {book}",
    ],
    "uk": [
        "привіт, допоможи скласти план поїздки до {city}",
        "поясни простими словами, що таке {topic}",
        "напиши привітання з днем народження для сестри",
    ],
    "zh": [
        "你好，能帮我规划一下去{city}的三天行程吗？",
        "用简单的话解释一下{topic}",
        "我爸喜欢{hobby}，送什么礼物比较好？",
        "冰箱里有鸡蛋、番茄和米饭，今晚做什么？",
        "怎么委婉地拒绝同事的请求？",
        "推荐几本和{book}类似的书",
        "成年人怎么开始学{skill}？",
    ],
    "ja": [
        "{city}に3日間旅行するならどこを回るのがいいですか？",
        "{topic}について簡単に説明してください",
        "{hobby}が好きな人へのプレゼントのアイデアを教えて",
        "上司に有給休暇をお願いするメールを書いてください",
        "{book}が好きな人におすすめの本は？",
    ],
    "ko": [
        "{city} 3일 여행 일정 좀 짜줄 수 있어?",
        "{topic}을 쉽게 설명해줘",
        "{hobby} 좋아하는 친구 선물 추천해줘",
        "자기소개서 첫 문장 어떻게 쓰면 좋을까?",
    ],
    "hi": [
        "{city} में 3 दिन घूमने का प्लान बना दो",
        "{topic} को आसान भाषा में समझाओ",
        "मेरे दोस्त के जन्मदिन के लिए एक मज़ेदार संदेश लिखो",
    ],
    "ar": [
        "مرحبا، ساعدني في التخطيط لرحلة إلى {city} لمدة ثلاثة أيام",
        "اشرح لي {topic} بطريقة بسيطة",
        "اكتب رسالة تهنئة بعيد ميلاد لصديقي",
    ],
    "id": [
        "halo, bantu aku bikin itinerary 3 hari di {city} dong",
        "jelasin {topic} dengan bahasa yang gampang",
        "kado apa yang cocok buat orang yang suka {hobby}?",
    ],
    "tr": [
        "{city} için 3 günlük gezi planı yapar mısın?",
        "{topic} konusunu basitçe anlatır mısın?",
        "arkadaşım için komik bir doğum günü mesajı yaz",
    ],
    "vi": [
        "lên giúp mình lịch trình 3 ngày ở {city} nhé",
        "giải thích {topic} một cách dễ hiểu",
        "tặng gì cho người thích {hobby}?",
    ],
    "pl": [
        "cześć, pomożesz mi zaplanować 3 dni w {city}?",
        "wyjaśnij mi prosto, czym jest {topic}",
    ],
    "nl": [
        "hoi, kun je me helpen een weekend in {city} te plannen?",
        "leg {topic} eenvoudig uit",
    ],
}

FOLLOWUPS = {
    "en": ["thanks! can you make it shorter?", "ok but what if I {alt}?", "can you give me an example?",
           "hmm that doesn't sound right, are you sure?", "perfect. now do the same for {thing}",
           "make it more casual", "why?", "can you put that in a table", "go on", "what about the second point",
           "ty", "and for someone with no experience?", "can you explain step 2 again", "Nice, translate it to Spanish"],
    "es": ["gracias! ¿lo puedes hacer más corto?", "¿y si {alt}?", "dame un ejemplo", "¿por qué?", "sigue"],
    "pt": ["valeu! dá pra resumir?", "e se {alt}?", "me dá um exemplo", "por quê?", "continua"],
    "fr": ["merci ! tu peux raccourcir ?", "et si {alt} ?", "un exemple ?", "pourquoi ?", "continue"],
    "de": ["danke! geht das kürzer?", "und wenn {alt}?", "hast du ein Beispiel?", "warum?", "weiter"],
    "it": ["grazie! puoi accorciarlo?", "fammi un esempio", "perché?"],
    "ru": ["спасибо! можно короче?", "а если {alt}?", "приведи пример", "почему?", "продолжай"],
    "uk": ["дякую! можна коротше?", "наведи приклад", "чому?"],
    "zh": ["谢谢！能再简短一点吗？", "那如果{alt}呢？", "举个例子", "为什么？", "继续"],
    "ja": ["ありがとう！もう少し短くできますか？", "例を挙げてください", "なぜですか？", "続けて"],
    "ko": ["고마워! 좀 더 짧게 해줄래?", "예시 들어줘", "왜?", "계속"],
    "hi": ["धन्यवाद! थोड़ा छोटा कर दो", "एक उदाहरण दो", "क्यों?"],
    "ar": ["شكراً! هل يمكن اختصاره؟", "أعطني مثالاً", "لماذا؟"],
    "id": ["makasih! bisa dipersingkat?", "kasih contoh dong", "kenapa?"],
    "tr": ["teşekkürler! kısaltabilir misin?", "örnek verir misin?", "neden?"],
    "vi": ["cảm ơn! viết ngắn hơn được không?", "cho ví dụ đi", "tại sao?"],
    "pl": ["dzięki! możesz skrócić?", "podaj przykład", "dlaczego?"],
    "nl": ["dank! kan het korter?", "geef een voorbeeld", "waarom?"],
}

SLOTS = {
    "city": ["Lisbon", "Kyoto", "Mexico City", "Prague", "Istanbul", "Seoul", "Buenos Aires", "Marrakech",
             "Vancouver", "Hanoi", "Cape Town", "Edinburgh", "Bangkok", "Porto", "Berlin", "Oaxaca", "Tbilisi",
             "Chicago", "Osaka", "Bali", "Cusco", "Krakow", "Valencia", "Montreal"],
    "hobby": ["fishing", "woodworking", "chess", "gardening", "baking", "cycling", "photography", "board games",
              "vinyl records", "hiking", "knitting", "F1", "anime", "birdwatching", "homebrewing", "running"],
    "topic": ["inflation", "black holes", "quantum entanglement", "the stock market", "photosynthesis",
              "blockchain", "how vaccines work", "the electoral college", "compound interest", "climate change",
              "machine learning", "the placebo effect", "plate tectonics", "the French revolution", "DNS",
              "CRISPR", "supply and demand", "the Fermi paradox", "interest rates", "how airplanes fly"],
    "book": ["Dune", "The Name of the Wind", "Sapiens", "Project Hail Mary", "1984", "Normal People",
             "The Three-Body Problem", "Atomic Habits", "One Hundred Years of Solitude", "Pachinko"],
    "animal": ["octopus", "axolotl", "crows", "hedgehog", "capybara", "border collie", "parrot", "tardigrades"],
    "skill": ["piano", "Spanish", "drawing", "coding", "swimming", "public speaking", "touch typing", "guitar"],
    "name": ["Priya", "Tom", "Aisha", "Marco", "Kenji", "Sofia", "Dave", "Lena", "Omar", "Chloe"],
    "alt": ["only have 2 days", "am vegetarian", "don't have a car", "am on a tight budget", "go in winter",
            "use Python instead", "want it more formal", "have kids with me"],
    "thing": ["the second one", "my sister", "the intro", "next week", "the other option"],
}

# ---------------------------------------------------------------- maths / logic
MATH_TEMPLATES = [
    "A train leaves a station at {a} km/h. Two hours later a second train leaves the same station at {b} km/h on the same track. How long after the second train departs does it catch up with the first?",
    "A shop sells notebooks for ${a} each and pens for ${c} each. Maya buys {n} notebooks and {m} pens and pays with a ${big} bill. How much change does she get?",
    "Solve for x: {a}x + {b} = {c}x - {d}",
    "Find the derivative of f(x) = {a}x^3 - {b}x^2 + {c}x - {d}",
    "Find the derivative of f(x) = x^{n} * sin(x)",
    "Integrate {a}x^2 + {b}x from 0 to {n}",
    "What is {p}% of {big}?",
    "The price of a jacket went up by {p}% and then down by {q}%. If it now costs ${big}, what was the original price?",
    "A rectangle has a perimeter of {per} cm and its length is {a} cm more than its width. Find its area.",
    "Solve the system: {a}x + {b}y = {c} and {d}x - y = {n}",
    "Solve the quadratic equation x^2 - {s}x + {pr} = 0",
    "A bag has {a} red balls and {b} blue balls. Two balls are drawn without replacement. What is the probability both are red?",
    "If log base 2 of x equals {n}, what is x? And what is log base 4 of x?",
    "A cyclist rides {a} km in {n} hours and then {b} km in {m} hours. What is her average speed for the whole trip?",
    "Sam is {a} years older than his sister. In {n} years, he will be twice as old as she was {m} years ago. How old is each now?",
    "A water tank is filled by one pipe in {a} hours and emptied by another in {b} hours. If both are open, how long does it take to fill the tank?",
    "Compute the limit as x approaches 0 of sin({a}x)/({b}x)",
    "How many ways can {n} people sit around a round table?",
    "Prove that the sum of the first n odd numbers is n^2.",
    "Find the sum of the arithmetic series {a} + {a2} + {a3} + ... up to {n} terms.",
    "A loan of ${big} has an annual interest rate of {p}% compounded monthly. What is the balance after {n} years?",
    "What is the remainder when {big}^{n} is divided by 7?",
    "A cone has radius {a} cm and height {b} cm. What is its volume?",
    "Find the eigenvalues of the matrix [[{a}, {n}], [{n}, {b}]]",
]

LOGIC_TEMPLATES = [
    "On an island, knights always tell the truth and knaves always lie. {p1} says: '{p2} is a knave.' {p2} says: 'We are both knights.' Who is what?",
    "What is the next number in the sequence {a}, {a2}, {a3}, {a4}, ...? Explain the pattern.",
    "Five friends finish a race. {p1} finished before {p2} but after {p3}. {p4} was last. {p5} beat {p3}. What is the order?",
    "If all bloops are razzies and some razzies are lazzies, must some bloops be lazzies? Explain.",
    "You have {n} coins and one is counterfeit and lighter. What is the minimum number of weighings on a balance scale to find it?",
    "A farmer must cross a river with a wolf, a goat and a cabbage. The boat holds him and one item. How does he do it?",
    "Three boxes are labelled apples, oranges and mixed, and every label is wrong. You may pick one fruit from one box. How do you relabel all boxes?",
    "{p1} is taller than {p2}. {p3} is shorter than {p2} but taller than {p4}. Who is the second shortest?",
    "A clock shows 3:{m2}. What is the angle between the hour and minute hands?",
    "In a room of {n} people everyone shakes hands with everyone else once. How many handshakes?",
]

NAMES = ["Alice", "Bob", "Chen", "Dana", "Elif", "Farid", "Greta", "Hiro", "Ines", "Jamal", "Kofi", "Lucia",
         "Mateo", "Nadia", "Oscar", "Pia", "Quinn", "Ravi", "Sana", "Tomas", "Uma", "Viktor", "Wen", "Yara"]

STUDENT_WRAP = {
    "en": ["{q}\nshow your steps", "{q} Please show your work step by step.", "can someone help me with this one: {q}",
           "{q}\n\nI got {wrong} but the answer key says something else, where did I go wrong?",
           "Explain how to solve this, I have a test tomorrow: {q}", "{q}", "hw question: {q} (show steps pls)",
           "I'm stuck on this problem. {q} Can you explain each step?"],
    "es": ["{q}\nresuélvelo paso a paso por favor", "ayuda con este ejercicio: {q}", "{q} explica cada paso"],
    "pt": ["{q}\nresolve passo a passo pfv", "me ajuda nessa questão: {q}"],
    "fr": ["{q}\nmontre les étapes s'il te plaît", "exercice : {q} explique chaque étape"],
    "de": ["{q}\nbitte mit Rechenweg", "Hausaufgabe: {q} Kannst du jeden Schritt erklären?"],
    "ru": ["{q}\nрешите пошагово", "помогите с задачей: {q}"],
    "zh": ["{q}\n请写出详细步骤", "这道题怎么做：{q}"],
    "ja": ["{q}\n途中式も書いてください"],
    "ko": ["{q}\n풀이 과정도 보여줘"],
    "hi": ["{q}\nकृपया स्टेप बाय स्टेप हल करें"],
    "id": ["{q}\ntolong pakai cara ya"],
    "vi": ["{q}\ngiải chi tiết giúp mình"],
    "tr": ["{q}\nadım adım çözer misin"],
}

ESSAY_TASKS = [
    "Write a {n}-word essay on {subject}.", "Give me an outline for an essay arguing that {claim}.",
    "Explain the causes of {event} for my history class.", "Summarize the main themes of {work}.",
    "Help me write a thesis statement about {subject}.", "What are the pros and cons of {claim2}?",
    "Compare {a} and {b} in a short paragraph.", "Proofread my paragraph: {para}",
    "Explain {concept} with an example, I don't get it from the lecture.",
    "Write a lab report introduction for an experiment on {experiment}.",
    "Make me a study plan for my {course} final in {n2} days.",
    "Quiz me on {course}: ask 5 questions one at a time.",
]
ESSAY_SLOTS = {
    "subject": ["social media and teenage mental health", "renewable energy in developing countries", "the ethics of AI art",
                "school uniforms", "the role of the Silk Road in cultural exchange", "urbanization", "remote work",
                "the importance of bees", "fast fashion", "space exploration funding"],
    "claim": ["homework should be banned", "nuclear power is necessary", "college should be free", "voting should be mandatory",
              "zoos do more good than harm"],
    "claim2": ["year-round schooling", "electric cars", "standardized testing", "universal basic income", "online classes"],
    "event": ["World War I", "the fall of the Roman Empire", "the 2008 financial crisis", "the Cold War", "the Industrial Revolution"],
    "work": ["Macbeth", "To Kill a Mockingbird", "The Great Gatsby", "Animal Farm", "Things Fall Apart", "Frankenstein"],
    "a": ["mitosis", "capitalism", "the Renaissance", "TCP", "Keynesian economics", "Romanticism"],
    "b": ["meiosis", "socialism", "the Enlightenment", "UDP", "monetarism", "Realism"],
    "concept": ["entropy", "opportunity cost", "natural selection", "recursion", "the Krebs cycle", "standard deviation",
                "Newton's third law", "oxidation numbers", "marginal utility", "p-values"],
    "experiment": ["enzyme activity and temperature", "pendulum period", "osmosis in potatoes", "titration of vinegar"],
    "course": ["organic chemistry", "macroeconomics", "biology 101", "calculus II", "world history", "statistics", "physics"],
    "para": ["Their are many reason why people likes to travel, first of all it open you're mind to new culture's.",
             "The experiment show that when the temperature increase the rate of reaction also increases, this prove our hypothesis.",
             "In conclusion social media have both good and bad effect on teenagers and we must to be careful using it."],
}

# ---------------------------------------------------------------- code
CODE_LANGS = ["Python", "JavaScript", "TypeScript", "Go", "Rust", "Java", "C++", "C#", "SQL", "Bash",
              "Kotlin", "Swift", "PHP", "Ruby"]
CODE_TASKS = [
    "reverses a singly linked list", "parses a CSV file and computes the average of a column",
    "implements an LRU cache", "debounces a function call", "checks whether a string is a palindrome",
    "finds the k most frequent words in a text", "merges two sorted arrays", "validates an email address with a regex",
    "implements binary search", "flattens a nested list", "detects a cycle in a directed graph",
    "computes the Levenshtein distance between two strings", "serializes a binary tree to a string and back",
    "rate-limits requests with a token bucket", "downloads a list of URLs concurrently",
    "finds the longest substring without repeating characters", "implements a trie with insert and search",
    "converts a Roman numeral to an integer", "groups anagrams together", "computes a running median",
    "retries an HTTP request with exponential backoff", "reads a large file line by line and counts unique IPs",
    "implements a min-heap", "parses command line arguments", "builds a simple REST endpoint for todos",
    "topologically sorts tasks with dependencies", "returns the top 3 salaries per department",
    "implements Dijkstra's shortest path", "chunks a list into batches of size n", "deep-merges two dictionaries",
]
CODER_QUESTIONS = [
    "why am I getting `{err}` here?\n\n```{lang_l}\n{snip}\n```",
    "how do I {howto} in {lang}?",
    "what's the difference between {x} and {y} in {lang}?",
    "can you review this {lang} code and tell me what could be better?\n\n```{lang_l}\n{snip}\n```",
    "Write a {lang} function that {task}.",
    "my {tool} build fails with:\n```\n{err}\n```\nany idea?",
    "explain what this regex does: {regex}",
    "convert this to {lang}:\n```\n{snip}\n```",
    "best way to structure a small {framework} project? I keep ending up with one huge file",
    "how do I write a unit test for a function that {task}?",
    "is it worth learning {lang} in 2026 or should I stick with {lang2}?",
    "I'm building a {project}. which database would you use and why?",
]
CODER_SLOTS = {
    "err": ["TypeError: 'NoneType' object is not subscriptable", "IndexError: list index out of range",
            "Uncaught (in promise) TypeError: Cannot read properties of undefined (reading 'map')",
            "error[E0502]: cannot borrow `v` as mutable because it is also borrowed as immutable",
            "panic: runtime error: invalid memory address or nil pointer dereference",
            "ModuleNotFoundError: No module named 'cv2'", "Segmentation fault (core dumped)",
            "java.lang.NullPointerException at Main.main(Main.java:14)",
            "CORS policy: No 'Access-Control-Allow-Origin' header is present",
            "KeyError: 'id'", "SyntaxError: Unexpected token '<', \"<!DOCTYPE \"... is not valid JSON",
            "ERROR: relation \"users\" does not exist", "npm ERR! code ERESOLVE"],
    "howto": ["read a JSON file", "sort a dict by value", "make an HTTP request with a timeout", "run tasks in parallel",
              "center a div", "handle errors properly", "connect to Postgres", "parse dates with timezones",
              "deploy to a VPS", "debounce an input", "write to a file atomically", "hash a password"],
    "x": ["let", "map", "async/await", "a list", "an interface", "== ", "process", "a struct"],
    "y": ["var", "forEach", "threads", "a tuple", "an abstract class", "===", "thread", "a class"],
    "tool": ["webpack", "cargo", "gradle", "docker", "vite", "cmake", "pip"],
    "regex": ["^(?=.*[A-Z])(?=.*\\d).{8,}$", "\\b\\d{3}-\\d{4}\\b", "^([a-z0-9_.-]+)@([\\da-z.-]+)\\.([a-z.]{2,6})$"],
    "framework": ["Flask", "Express", "FastAPI", "Django", "Next.js", "Spring Boot", "Gin"],
    "project": ["habit tracker app", "discord bot", "price tracker", "personal finance dashboard", "multiplayer quiz game",
                "inventory system for my mom's shop", "url shortener"],
}
SNIPPETS = [
    "data = requests.get(url).json()\nfor row in data['items']:\n    print(row['name'].upper())",
    "const items = await fetch('/api/items').then(r => r.json());\nitems.data.map(i => i.title)",
    "let v = vec![1, 2, 3];\nlet first = &v[0];\nv.push(4);\nprintln!(\"{}\", first);",
    "def avg(xs):\n    return sum(xs) / len(xs)\n\nprint(avg([]))",
    "for (int i = 0; i <= arr.length; i++) {\n  total += arr[i];\n}",
    "SELECT name, MAX(score) FROM results GROUP BY team;",
    "func main() {\n    var m map[string]int\n    m[\"a\"] = 1\n}",
    "with open('data.txt') as f:\n    lines = f.readlines()\nnums = [int(l) for l in lines]",
    "useEffect(async () => {\n  const res = await api.get();\n  setData(res);\n});",
]

# ---------------------------------------------------------------- writing
WRITER_TASKS = [
    "Write a short story ({n} words) about {premise}.", "Continue this story: {opening}",
    "Give me 5 plot twists for a story where {premise}.", "Write a poem about {thing} in the style of {style}.",
    "Rewrite this paragraph to be more vivid:\n\n{para}", "Describe a {setting} using all five senses.",
    "I'm writing a fantasy novel. Help me name {n2} towns in a desert kingdom.",
    "Write dialogue between {c1} and {c2} arguing about {thing}.",
    "Give me feedback on my opening line: \"{opening}\"", "Write song lyrics about {thing}, verse-chorus-verse.",
    "Create a character profile for {c1}, a {role} with a secret.", "Write a haiku sequence about {thing}.",
]
WRITER_SLOTS = {
    "premise": ["a lighthouse keeper who receives letters from the future", "two rival bakers forced to share a kitchen",
                "a city where nobody can lie after midnight", "a robot who wants to become a gardener",
                "the last bookstore on Mars", "a detective who is allergic to clues", "a grandmother who was a spy"],
    "opening": ["The rain had been falling upward for three days when Mara noticed the door.",
                "Nobody in the village remembered who had planted the silver tree.",
                "It was the kind of Tuesday that ends with a funeral or a wedding."],
    "thing": ["autumn", "the sea", "insomnia", "old phones", "moving cities", "first snow", "coffee at 3am", "a broken clock"],
    "style": ["Emily Dickinson", "a pirate shanty", "Rumi", "a children's book", "Bukowski", "a limerick"],
    "setting": ["night market", "abandoned train station", "spaceship galley", "mountain monastery", "flooded library"],
    "c1": ["a retired astronaut", "a teenage witch", "a tired barista", "a ghost", "a chess prodigy"],
    "c2": ["her estranged brother", "a talking cat", "the landlord", "a time traveler", "a nervous intern"],
    "role": ["smuggler", "royal cartographer", "night nurse", "court musician", "beekeeper"],
    "para": ["He walked into the room. It was dark. He was scared. There was a noise.",
             "The city was big and loud and she did not like it very much at first."],
}

# ---------------------------------------------------------------- apps
INGREDIENTS = ["chicken thighs", "chickpeas", "spinach", "feta", "rice", "eggs", "tofu", "sweet potato", "lentils",
               "salmon", "broccoli", "coconut milk", "ground beef", "mushrooms", "quinoa", "black beans", "zucchini",
               "cheddar", "pasta", "tomatoes", "avocado", "shrimp", "cabbage", "paneer", "oats", "bell peppers"]
DIETS = ["none", "vegetarian", "vegan", "gluten-free", "low-carb", "dairy-free", "halal", "nut allergy"]
SEO_KEYWORDS = ["best running shoes for flat feet", "how to start a vegetable garden", "plumber near me tips",
                "cheap flights to europe", "home office setup ideas", "dog training tips for puppies",
                "keto breakfast recipes", "how to fix a leaky faucet", "best crm for small business",
                "wedding venue checklist", "how to clean a cast iron pan", "ergonomic chair benefits",
                "roof repair cost", "yoga for beginners at home", "solar panels worth it", "tax tips for freelancers"]
BUSINESSES = ["a local bakery", "a plumbing company in Ohio", "a yoga studio", "an online shoe store", "a dental clinic",
              "a SaaS CRM startup", "a travel agency", "a pet grooming salon", "a roofing contractor", "a law firm"]
JOB_ROLES = ["software engineer", "marketing manager", "registered nurse", "data analyst", "sales associate",
             "project manager", "graphic designer", "accountant", "teacher", "warehouse supervisor", "UX researcher"]
RESUME_BULLETS = ["responsible for managing social media accounts", "helped customers with their problems",
                  "did data entry and made reports in excel", "worked on the backend of the company website",
                  "led team of 5 people", "increased sales", "trained new employees", "handled inventory",
                  "fixed bugs and wrote tests", "organized events for students", "answered phones and emails"]
PRODUCTS = ["bamboo cutting board", "wireless earbuds", "linen bed sheets", "stainless steel water bottle",
            "ergonomic office chair", "dog harness", "LED desk lamp", "yoga mat", "cast iron skillet",
            "kids' rain boots", "mechanical keyboard", "scented soy candle"]
FEATURES = ["waterproof", "lightweight", "eco-friendly", "30-day returns", "dishwasher safe", "2-year warranty",
            "USB-C charging", "hypoallergenic", "adjustable", "non-slip", "handmade", "BPA-free"]
NOTE_TOPICS = ["cell biology", "the French Revolution", "Spanish verb conjugation", "photosynthesis", "supply and demand",
               "the circulatory system", "World War II causes", "organic chemistry functional groups", "linear algebra basics",
               "Japanese hiragana", "the water cycle", "Python data types", "contract law basics", "pharmacology of beta blockers"]
SUPPORT_PRODUCTS = ["Invoicely", "TaskPilot", "ShopNest", "FitTrack", "Bookly", "CloudNotes", "PayRoll Pro"]
SUPPORT_QUESTIONS = ["how do I reset my password", "can I export my data to CSV", "why was I charged twice this month",
                     "how do I cancel my subscription", "the app crashes when I upload a photo",
                     "can I add another user to my account", "does it integrate with Google Calendar",
                     "I didn't get the verification email", "how do I change my billing address", "is there a dark mode"]
EMAIL_SITUATIONS = ["a client asking for a discount", "a colleague asking to swap shifts", "a landlord about a broken heater",
                    "a recruiter's cold outreach", "a customer complaining about a late delivery", "my kid's teacher about a missed assignment"]
REVIEW_SNIPPETS = ["Arrived quickly but the box was damaged. Product works fine.", "Terrible customer service, never again.",
                   "Exactly as described, my daughter loves it!", "It stopped working after two weeks.",
                   "Good value for the price, though the instructions were confusing.", "Five stars, would buy again.",
                   "The color is different from the picture.", "Battery life is amazing, lasts all week.",
                   "Meh. It does the job.", "Size runs small, order one up."]
TICKET_TEXT = ["Hi, I ordered on the 3rd and still nothing. Order #{num}. Please help.",
               "Your app logged me out and now my 2FA code doesn't work.",
               "I'd like a refund for the annual plan, I only used it once.",
               "The export to PDF cuts off the last page of the report.",
               "Can you add an option to change the invoice currency?",
               "Great product, but the mobile app is slow on Android."]

PERSONAS = ["Sparky, a cheerful assistant for the {server} Discord server. Keep answers under 150 words and use emojis sparingly.",
            "Mimi, a sarcastic but helpful cat. Stay in character. The chat is a Telegram group called {server}.",
            "a helpful bot in the {server} community. Answer questions about games, anime and memes. Be brief.",
            "StudyBuddy, a tutor bot in the {server} study server. Explain things clearly and encourage students.",
            "an assistant in a crypto trading Telegram group ({server}). Never give financial advice.",
            "a D&D dungeon master bot for the {server} server. Narrate vividly and ask players what they do."]
SERVER_NAMES = ["Pixel Hangout", "Night Owls", "Anime Corner", "Code & Coffee", "Valorant EU", "Lofi Study Room",
                "Crypto Signals ES", "Minecraft Builders", "Art Club", "Dragons Den", "Kpop Stan Zone", "ML Reading Group",
                "Brasil Gamers", "Indie Devs", "Chess Club", "Le Salon", "Weeb Central", "Hardware Nerds"]
BOT_USER_MSGS = [
    "@bot tell me a joke about {thing}", "bot what's the capital of australia", "who would win, {c1} or {c2}?",
    "@bot explain {topic} in one sentence", "bot roast me", "can you summarize what we talked about",
    "bot give me a random anime recommendation", "what's 15% tip on $84", "@bot translate 'good night everyone' to {lang_name}",
    "write a 4 line poem about {thing}", "bot is {topic} real", "bot what should I name my {animal}",
    "@bot rate my build: {build}", "hey bot how are you today", "bot flip a coin", "bot give me a riddle",
    "bot what time is it in tokyo", "@bot make a team name for our {hobby} squad", "bot answer: {trivia}",
]
BOT_SLOTS = {
    "c1": ["Goku", "Batman", "a T-rex", "100 ducks", "Gandalf", "Naruto"], "c2": ["Superman", "Iron Man", "a lion",
          "1 horse-sized duck", "Dumbledore", "Luffy"],
    "build": ["Ryzen 7 + 4070 + 32GB", "i5 with a 3060 and 16GB", "full AMD 7800X3D + 7900XT"],
    "trivia": ["how many bones in the human body", "tallest mountain in africa", "who painted the night watch",
               "what year did the berlin wall fall", "fastest land animal"],
    "lang_name": ["Spanish", "Japanese", "Korean", "French", "German", "Portuguese"],
}

UI_STRINGS = ["Sign in", "Forgot your password?", "Save changes", "Your cart is empty", "Add to cart",
              "Are you sure you want to delete this item?", "Welcome back, {name}!", "{count} new messages",
              "Settings", "Log out", "Upload a photo", "Payment failed. Please try again.", "Search...",
              "Free shipping on orders over {amount}", "Your order has shipped", "Terms of Service",
              "Notifications", "Invite friends", "Dark mode", "Subscribe", "Continue with Google",
              "Something went wrong", "Try again", "Edit profile", "Delete account", "Last updated {date}",
              "No results found for \"{query}\"", "Your session has expired", "Next", "Back", "Done"]

PAGE_TOPICS = ["a new study on intermittent fasting", "the city council's new bike lane plan", "an earnings report from a chip maker",
               "a review of a budget smartphone", "a guide to renting in Berlin", "a recipe blog post for banana bread",
               "a news article about a heatwave in southern Europe", "a product page for noise cancelling headphones",
               "a github README for a static site generator", "a long reddit thread about career changes",
               "an explainer on mortgage rates", "a blog post about burnout in tech", "a wiki page about octopuses"]

# ---------------------------------------------------------------- translation
TRANSLATION_SOURCES = [
    "The meeting has been moved to Thursday afternoon because the client is travelling.",
    "Please keep your receipt; returns are accepted within thirty days of purchase.",
    "Turn left at the second traffic light and the pharmacy will be on your right.",
    "The medicine should be taken twice a day with food for at least one week.",
    "Our flight was delayed by three hours, so we missed the connection in Frankfurt.",
    "If the problem persists, restart the device and contact customer support.",
    "She has been learning the violin since she was six years old.",
    "The museum is closed on Mondays and on public holidays.",
    "Heavy rain is expected across the region tonight, with possible flooding near rivers.",
    "Could you send me the updated version of the contract before Friday?",
    "The recipe calls for two cups of flour, one egg and a pinch of salt.",
    "Children under twelve must be accompanied by an adult at all times.",
    "The new library will open next spring with a larger reading room for students.",
    "He apologized for the misunderstanding and offered to pay for the damage.",
    "Water boils at a lower temperature at high altitude because the air pressure is lower.",
    "The hotel offers free breakfast, but parking costs fifteen euros per night.",
    "Remember to back up your files before installing the update.",
    "The farmers are worried that the drought will ruin this year's harvest.",
    "I would like to book a table for four people at eight o'clock.",
    "The committee will announce the winners at the end of the month.",
]
TRANSLATION_SUBJECTS = ["The company", "My neighbour", "The government", "Our team", "The doctor", "The teacher",
                        "The old man", "The city", "The engineers", "Her brother", "The report", "The bank"]
TRANSLATION_VERBS = ["announced that", "explained that", "warned that", "confirmed that", "insisted that", "noticed that"]
TRANSLATION_CLAUSES = ["prices will rise next year", "the bridge needs urgent repairs", "the results were better than expected",
                       "nobody had read the instructions", "the train would arrive late", "the project is behind schedule",
                       "more volunteers are needed", "the water was safe to drink", "the software update fixes the bug",
                       "the shop will close early on Sunday", "the patient can go home tomorrow", "the road was blocked by snow"]

# ---------------------------------------------------------------- self-instruct style
INSTR_VERBS = ["Write", "Explain", "Classify", "Summarize", "Generate", "Rewrite", "List", "Describe", "Compare",
               "Convert", "Suggest", "Create", "Identify", "Translate", "Edit", "Outline", "Brainstorm", "Extract"]
INSTR_OBJECTS = ["a haiku about", "three reasons for", "the main idea of", "a product slogan for", "a tweet about",
                 "a list of pros and cons of", "a formal email about", "the sentiment of a review about",
                 "a quiz question on", "a short bio for", "an analogy for", "step-by-step instructions for",
                 "a title for an article on", "a riddle about", "a motivational quote about", "five facts about"]
INSTR_TOPICS = ["recycling", "time management", "the moon landing", "a coffee shop", "machine learning", "friendship",
                "photosynthesis", "job interviews", "electric cars", "the ocean", "budgeting", "a new smartphone",
                "online privacy", "volcanoes", "healthy eating", "remote teams", "ancient Egypt", "climate policy",
                "learning languages", "sleep hygiene", "public transport", "video games", "bees", "democracy"]

# ---------------------------------------------------------------- eval / judge
MCQ_SUBJECTS = ["high school biology", "college physics", "world religions", "professional law", "econometrics",
                "clinical knowledge", "computer security", "moral scenarios", "astronomy", "nutrition"]
JUDGE_SYSTEMS = [
    "Please act as an impartial judge and evaluate the quality of the responses provided by two AI assistants to the user question displayed below. Avoid any position biases. After providing your explanation, output your final verdict by strictly following this format: \"[[A]]\" if assistant A is better, \"[[B]]\" if assistant B is better, and \"[[C]]\" for a tie.",
    "You are a strict grader. Rate the assistant's answer on a scale of 1 to 10 for helpfulness, relevance, accuracy and depth. Reply with a short justification followed by 'Rating: [[N]]'.",
    "You compare two candidate answers. Return JSON: {\"winner\": \"A\"|\"B\"|\"tie\", \"reason\": string}.",
    "Evaluate whether the response follows every instruction in the prompt. Answer with a score from 1-5 and list violated constraints.",
]

# ---------------------------------------------------------------- user agents
UA_SDK_PY = ["OpenAI/Python 1.54.0", "OpenAI/Python 1.54.4", "OpenAI/Python 1.55.3", "OpenAI/Python 1.52.2",
             "OpenAI/Python 1.47.1", "OpenAI/Python 1.40.6", "AsyncOpenAI/Python 1.54.4", "OpenAI/Python 1.56.0"]
UA_SDK_JS = ["OpenAI/JS 4.67.3", "OpenAI/JS 4.71.1", "OpenAI/JS 4.56.0", "OpenAI/JS 4.73.0"]
UA_HTTP = ["python-requests/2.32.3", "python-requests/2.31.0", "python-httpx/0.27.2", "axios/1.7.7", "axios/1.6.8",
           "node-fetch/1.0 (+https://github.com/bitinn/node-fetch)", "curl/8.5.0", "curl/7.81.0", "Go-http-client/2.0",
           "Go-http-client/1.1", "okhttp/4.12.0", "Dart/3.5 (dart:io)", "Java-http-client/17.0.9", "PostmanRuntime/7.42.0",
           "aiohttp/3.10.10", "Ruby", "GuzzleHttp/7"]
UA_FRAMEWORK = ["langchain-openai/0.2.9 OpenAI/Python 1.54.3", "litellm/1.52.6", "llama-index/0.11.23 OpenAI/Python 1.54.0",
                "Vercel AI SDK/3.4.9 OpenAI/JS 4.67.3", "instructor/1.6.4 OpenAI/Python 1.54.4"]
UA_BROWSER = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:132.0) Gecko/20100101 Firefox/132.0",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
]
UA_TOOLS = ["Continue/0.9.228 (vscode)", "Cline/3.0.1", "aider/0.64.1 OpenAI/Python 1.54.0", "Raycast/1.86.0",
            "ChatBox/1.6.2 (macOS)", "Obsidian-Copilot/2.7.1", "SillyTavern/1.12.7", "BetterChatGPT/1.0"]

# Follow-ups that refer back to what the person asked about (slots reuse the first message's values)
FOLLOWUPS_CTX = {
    "en": {"city": ["what about restaurants in {city}?", "is {city} safe to walk at night?", "how many days would you really need in {city}?",
                    "we land in {city} at 11pm, does that change anything", "what's the best neighbourhood to stay in {city}"],
           "hobby": ["he already has most {hobby} stuff though", "something under $30 maybe? still {hobby} related",
                     "what about an experience instead of a thing, {hobby} related"],
           "topic": ["so how does {topic} affect me personally?", "can you explain {topic} with an analogy?",
                     "what do most people get wrong about {topic}?", "ok but who discovered {topic}"],
           "book": ["I've read those already. anything less famous than {book}?", "which one is closest in tone to {book}?"],
           "animal": ["how long do {animal}s live?", "can a {animal} live in a small apartment?"],
           "skill": ["how many hours a week to get decent at {skill}?", "any free resources for {skill}?"],
           "name": ["make it shorter, {name} doesn't read long messages", "add something about the coffee machine incident, {name} will get it"]},
    "es": {"city": ["¿y dónde comer en {city}?", "¿es caro {city}?"], "topic": ["¿y cómo me afecta {topic} a mí?", "dame un ejemplo de {topic}"],
           "hobby": ["algo más barato relacionado con {hobby}?"], "skill": ["¿cuánto tiempo para aprender {skill}?"], "book": ["ya los leí, algo menos conocido que {book}?"]},
    "pt": {"city": ["e onde comer em {city}?", "{city} é caro?"], "topic": ["me dá um exemplo de {topic}"], "hobby": ["algo mais barato de {hobby}?"],
           "skill": ["quanto tempo pra aprender {skill}?"]},
    "fr": {"city": ["et pour manger à {city} ?", "{city} c'est cher ?"], "topic": ["un exemple concret de {topic} ?"], "book": ["moins connu que {book} ?"],
           "skill": ["combien de temps pour apprendre {skill} ?"], "hobby": ["moins cher, toujours pour {hobby} ?"]},
    "de": {"city": ["und wo isst man gut in {city}?", "ist {city} teuer?"], "topic": ["hast du ein Beispiel für {topic}?"], "book": ["etwas weniger Bekanntes als {book}?"],
           "skill": ["wie lange dauert es, {skill} zu lernen?"], "hobby": ["etwas Günstigeres für {hobby}?"]},
    "ru": {"city": ["а где поесть в {city}?"], "topic": ["приведи пример: {topic}"], "book": ["а что-то менее известное, чем {book}?"], "hobby": ["а подешевле, для {hobby}?"]},
    "zh": {"city": ["{city}有什么好吃的？"], "topic": ["{topic}和我的生活有什么关系？"], "book": ["有没有比{book}冷门一点的？"], "hobby": ["有没有便宜一点的{hobby}礼物？"],
           "skill": ["学{skill}每天要练多久？"]},
    "ja": {"city": ["{city}でおすすめの食べ物は？"], "topic": ["{topic}の身近な例は？"], "hobby": ["{hobby}関連でもう少し安いものは？"], "book": ["{book}より少しマイナーな本は？"]},
}
