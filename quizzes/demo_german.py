"""The demo scorecard in German: each of its texts by its English original.

Formal address (“Sie”), as a B2B scorecard in German speaks. `demo_german_apply` fills
in what the demo has not translated yet (a marketer's own edit is kept) and offers German.
"""

from __future__ import annotations

from quizzes.models import Quiz
from quizzes.translating import quiz_items

LANGUAGE = "de"

GERMAN = {
    # The quiz, its lead form and e-mail
    "Marketing Measurement Scorecard": "Scorecard: Marketing-Messung",
    "Nine quick questions on how you track, attribute and act on your marketing. "
    "Get a personal score, your weakest area and what to do next.": (
        "Neun kurze Fragen dazu, wie Sie Ihr Marketing messen, Erfolge zuordnen und daraus "
        "handeln. Sie erhalten Ihren persönlichen Wert, Ihr schwächstes Feld und die "
        "nächsten Schritte."
    ),
    "Get my score": "Meinen Wert ermitteln",
    "Where should we send your scorecard?": "Wohin dürfen wir Ihre Scorecard senden?",
    "Send me occasional tips on marketing measurement. Unsubscribe at any time. "
    "Privacy policy: https://example.com/privacy": (
        "Senden Sie mir gelegentlich Tipps zur Marketing-Messung. Abmeldung jederzeit "
        "möglich. Datenschutzerklärung: https://example.com/privacy"
    ),
    "Your result: {percent} % ({tier}) on {quiz}": "Ihr Ergebnis: {percent} % ({tier}) – {quiz}",
    "A bar chart whose bars rise towards a dashed target line": (
        "Ein Balkendiagramm, dessen Balken zu einer gestrichelten Ziellinie ansteigen"
    ),
    # Categories and their bands
    "Tracking foundations": "Tracking-Grundlagen",
    "Attribution": "Attribution",
    "Reporting and action": "Reporting und Umsetzung",
    "Weak": "Schwach",
    "Fair": "Mittel",
    "Strong": "Stark",
    "Record conversions on your server": "Erfassen Sie Conversions auf Ihrem Server",
    "Browser tags miss a third of conversions to ad blockers and closed tabs. "
    "Record each lead on the server, once, in the same step that saves it.": (
        "Browser-Tags verpassen durch Werbeblocker und geschlossene Tabs rund ein Drittel "
        "der Conversions. Erfassen Sie jeden Lead auf dem Server – genau einmal und im "
        "selben Schritt, in dem er gespeichert wird."
    ),
    "Close the gaps in your event list": "Schließen Sie die Lücken in Ihrer Event-Liste",
    "Write down the five events that matter (started, answered, lead, demo, deal) "
    "and check each is recorded once, with the same name everywhere.": (
        "Schreiben Sie die fünf Events auf, auf die es ankommt (gestartet, beantwortet, "
        "Lead, Demo, Abschluss), und prüfen Sie, ob jedes genau einmal erfasst wird – "
        "überall unter demselben Namen."
    ),
    "Keep it honest": "Bleiben Sie kritisch",
    "Your tracking is solid. Review the tracking plan each quarter and retire "
    "events nobody reads.": (
        "Ihr Tracking steht auf festen Füßen. Prüfen Sie den Tracking-Plan jedes Quartal "
        "und streichen Sie Events, die niemand auswertet."
    ),
    "Tag every paid link": "Versehen Sie jeden bezahlten Link mit UTM-Parametern",
    "Untagged links land as “direct”. Add utm_source, utm_medium and utm_campaign "
    "to every ad and newsletter link, with one naming scheme.": (
        "Links ohne Parameter erscheinen als „direkt“. Ergänzen Sie jeden Anzeigen- und "
        "Newsletter-Link um utm_source, utm_medium und utm_campaign – nach einem "
        "einheitlichen Namensschema."
    ),
    "Compare first and last touch": "Vergleichen Sie ersten und letzten Kontaktpunkt",
    "Look at where leads first came from beside what closed them: the channels "
    "that open conversations are often not the ones that get the credit.": (
        "Stellen Sie gegenüber, woher Leads zuerst kamen und was sie am Ende überzeugt hat: "
        "Die Kanäle, die Gespräche eröffnen, sind oft nicht die, denen der Erfolg "
        "zugeschrieben wird."
    ),
    "Send conversions back to the ad platforms": (
        "Melden Sie Conversions an die Werbeplattformen zurück"
    ),
    "Feed server-side conversions to Meta and Google so their bidding learns from "
    "real leads, not page views.": (
        "Übermitteln Sie serverseitig erfasste Conversions an Meta und Google, damit deren "
        "Gebotsstrategien aus echten Leads lernen statt aus Seitenaufrufen."
    ),
    "Make one funnel everyone trusts": "Schaffen Sie einen Funnel, dem alle vertrauen",
    "Agree on one funnel (visitors, starts, leads, demos) with its unit and base "
    "written under each number, and check it weekly.": (
        "Einigen Sie sich auf einen Funnel (Besucher, Starts, Leads, Demos), bei dem unter "
        "jeder Zahl Einheit und Bezugsgröße stehen, und prüfen Sie ihn jede Woche."
    ),
    "Reconcile with your CRM": "Gleichen Sie die Zahlen mit Ihrem CRM ab",
    "Count leads in analytics and in the CRM for the same week; every difference "
    "has a reason you can fix.": (
        "Zählen Sie die Leads derselben Woche in der Webanalyse und im CRM: Jede Abweichung "
        "hat eine Ursache, die Sie beheben können."
    ),
    "Act within the hour": "Reagieren Sie innerhalb einer Stunde",
    "Route hot leads to sales automatically; replies within an hour convert "
    "several times better than next-day calls.": (
        "Leiten Sie heiße Leads automatisch an den Vertrieb weiter: Eine Antwort innerhalb "
        "einer Stunde führt um ein Vielfaches häufiger zum Abschluss als ein Anruf am "
        "nächsten Tag."
    ),
    # Questions, their help and choices
    "Do you run paid advertising campaigns?": "Schalten Sie bezahlte Werbekampagnen?",
    "Search, social, display: any paid channel.": (
        "Suchmaschinen, Social Media, Display: Jeder bezahlte Kanal zählt."
    ),
    "Yes": "Ja",
    "No": "Nein",
    "How do you tag the links in your paid campaigns?": (
        "Wie kennzeichnen Sie die Links in Ihren bezahlten Kampagnen?"
    ),
    "We don't tag them": "Gar nicht",
    "Sometimes, by hand": "Manchmal, von Hand",
    "Always, with a naming convention": "Immer, nach einer festen Namenskonvention",
    "Automatically, checked before launch": "Automatisch und vor dem Start geprüft",
    "How confident are you in the revenue each ad channel brings in?": (
        "Wie sicher wissen Sie, welchen Umsatz jeder Werbekanal einbringt?"
    ),
    "A guess": "Reine Schätzung",
    "We could defend it to the board": "Vor dem Vorstand vertretbar",
    "Not at all": "Überhaupt nicht",
    "Completely": "Voll und ganz",
    "Where are your conversions recorded?": "Wo werden Ihre Conversions erfasst?",
    "Nowhere yet": "Noch nirgends",
    "Only in the ad platforms": "Nur in den Werbeplattformen",
    "In a browser analytics tag": "In einem Analyse-Tag im Browser",
    "On our server, one event per action": "Auf unserem Server, ein Event pro Aktion",
    "Which of these do you track today?": "Was davon messen Sie heute schon?",
    "Form submissions": "Abgesendete Formulare",
    "Qualified leads": "Qualifizierte Leads",
    "Sales meetings booked": "Gebuchte Vertriebstermine",
    "Closed revenue": "Abgeschlossener Umsatz",
    "How often does your team look at funnel numbers?": (
        "Wie oft schaut sich Ihr Team die Funnel-Zahlen an?"
    ),
    "Rarely": "Selten",
    "Monthly": "Monatlich",
    "Weekly": "Wöchentlich",
    "Daily, on a shared dashboard": "Täglich, auf einem gemeinsamen Dashboard",
    "Do the lead numbers in your analytics match the numbers in your CRM?": (
        "Stimmen die Lead-Zahlen in Ihrer Webanalyse mit denen in Ihrem CRM überein?"
    ),
    "How quickly does sales follow up a hot lead?": (
        "Wie schnell meldet sich Ihr Vertrieb bei einem heißen Lead?"
    ),
    "Days later": "Tage später",
    "Within minutes": "Innerhalb von Minuten",
    "What is the one number you wish you could trust?": (
        "Welcher Zahl würden Sie gern endlich vertrauen können?"
    ),
    "Tell us in a sentence.": "Sagen Sie es uns in einem Satz.",
    # Tiers
    "Cold": "Kalt",
    "Warm": "Warm",
    "Hot": "Heiß",
    "Your measurement has gaps that cost you money": (
        "Ihre Messung hat Lücken, die Sie Geld kosten"
    ),
    "Start with one canonical conversion event per action, recorded on the server. "
    "Everything else builds on that.": (
        "Beginnen Sie mit genau einem verbindlichen Conversion-Event pro Aktion, erfasst auf "
        "dem Server. Alles Weitere baut darauf auf."
    ),
    "Get the starter guide": "Zum Einsteiger-Leitfaden",
    "Good foundations, with blind spots": "Gute Grundlagen, aber mit blinden Flecken",
    "You track the basics; now connect them: attribution that survives ad blockers "
    "and counts that match your CRM.": (
        "Die Grundlagen messen Sie bereits – jetzt geht es darum, sie zu verbinden: mit einer "
        "Attribution, die Werbeblocker übersteht, und Zahlen, die mit Ihrem CRM "
        "übereinstimmen."
    ),
    "Watch the 10-minute walkthrough": "Zur 10-minütigen Einführung",
    "You measure like the best teams": "Sie messen wie die besten Teams",
    "Your funnel is instrumented end to end. Let's talk about getting sales to hot "
    "leads within minutes.": (
        "Ihr Funnel ist von Anfang bis Ende messbar. Lassen Sie uns darüber sprechen, wie "
        "Ihr Vertrieb heiße Leads innerhalb von Minuten erreicht."
    ),
    "Book a strategy call": "Strategiegespräch vereinbaren",
    # The result blocks (quizzes.demo_advice)
    "Book a measurement audit": "Ein Mess-Audit vereinbaren",
    "Your attribution is where most of your budget decisions go blind.\n\n"
    "In a 30-minute audit we trace three of your campaigns from click to revenue "
    "and show you where the credit gets lost.": (
        "Bei der Attribution treffen Sie die meisten Budgetentscheidungen im Blindflug.\n\n"
        "In einem 30-minütigen Audit verfolgen wir drei Ihrer Kampagnen vom Klick bis zum "
        "Umsatz und zeigen Ihnen, wo der Erfolg verloren geht."
    ),
    "Book a free audit": "Kostenloses Audit buchen",
    "Start with one server-side conversion": "Beginnen Sie mit einer serverseitigen Conversion",
    "Ad blockers and closed tabs hide a third of browser-tracked conversions. "
    "Record your lead form on the server first: one event, once, when the lead "
    "is saved. Our checklist takes an afternoon.": (
        "Werbeblocker und geschlossene Tabs verbergen ein Drittel der im Browser erfassten "
        "Conversions. Erfassen Sie zuerst Ihr Lead-Formular auf dem Server: ein Ereignis, "
        "genau einmal, wenn der Lead gespeichert wird. Unsere Checkliste braucht einen "
        "Nachmittag."
    ),
    "Get the checklist": "Zur Checkliste",
    "Your enterprise onboarding call": "Ihr Enterprise-Onboarding-Gespräch",
    "You came to us through the Enterprise plan: a measurement engineer will walk "
    "your team through this scorecard and set up the first dashboard with you.": (
        "Sie kommen über den Enterprise-Tarif zu uns: Eine Messexpertin oder ein Messexperte "
        "geht diese Scorecard mit Ihrem Team durch und richtet mit Ihnen das erste "
        "Dashboard ein."
    ),
    "Choose a time": "Termin wählen",
}


def demo_german_apply(quiz: Quiz) -> int:
    """Translate the demo's texts into German where they are not yet, and offer German.
    Returns how many texts were filled in; a second call fills in none."""
    filled = 0
    for item in quiz_items(quiz):
        stored = item.translations if isinstance(item.translations, dict) else {}
        own = dict(stored.get(LANGUAGE) or {})
        for name in type(item).TRANSLATED_FIELDS:
            german = GERMAN.get(getattr(item, name) or "")
            if german is None or str(own.get(name) or "").strip():
                continue
            limit = type(item)._meta.get_field(name).max_length
            if limit and len(german) > limit:  # ours: a bug, never cut
                raise RuntimeError(f"German {name} is longer than {limit}: {german}")
            own[name] = german
            filled += 1
        if own != (stored.get(LANGUAGE) or {}):
            item.translations = {**stored, LANGUAGE: own}
            item.save(update_fields=["translations"])
    offered = list(quiz.languages) if isinstance(quiz.languages, list) else []
    if LANGUAGE not in offered:
        quiz.languages = [*offered, LANGUAGE]
        quiz.save(update_fields=["languages"])
    return filled
