#!/usr/bin/env python3
"""Conversations for lmrt-chat-tiny (docs/chat-model.md). Pure Python 3, stdlib only.

Everything is a function of --seed: the same seed gives byte-identical files.

Writes into --out (default training/data/out/):
  train.jsonl      training conversations, one {"kind", "messages": [{"role", "content"}, ...]} per line
  eval.jsonl       held-out conversations; the last message is the expected assistant answer
  spm_text.txt     the text of the training conversations, one line per line of text, for spm_train
and, with --ci-eval FILE, a stratified sample of eval.jsonl (--ci-count items) for the CI accuracy test.

Kinds: add, sub, mul, count, count_down, bigger, smaller, is_bigger, backwards, capital, colour, sound,
legs, hello, who, how, thanks, bye, help, creator; "multi" = 2-3 turns of those.

Held out from training: (1) every eval question instance (kind, phrasing, parameters) -- no training question
equals an eval question up to case, spaces and punctuation (norm()); (2) the phrasings marked HELD_OUT below, which occur only in eval.jsonl.
Eval conversations carry no system message (lmrt adds InternLM2's default one, as at inference);
training conversations carry lmrt's default system prompt (default_system.txt) in most samples, no system
message or another short one in the rest.
"""
import argparse
import json
import os
import random

HERE = os.path.dirname(os.path.abspath(__file__))
NAME = "lmrt-chat-tiny"
PERSONA = (f"I am {NAME}, a small assistant made by the lmrt project. I can do simple arithmetic, count, "
           "compare numbers, spell words backwards and answer simple facts.")
HELP = ("I can add, subtract and multiply small numbers, count, compare numbers, spell words backwards "
        "and tell you capitals, colours, animal sounds and how many legs animals have.")

# Phrasings: (template, held_out). Held-out phrasings are only used in eval.jsonl.
T = {
    "add": [("What is {a} + {b}?", 0), ("What's {a} plus {b}?", 0), ("Add {a} and {b}.", 0),
            ("How much is {a} plus {b}?", 0), ("{a} + {b} = ?", 0), ("{a}+{b}", 0), ("Calculate {a} + {b}.", 0),
            ("What is the sum of {a} and {b}?", 0), ("Compute {a} plus {b}", 0), ("Can you add {a} and {b}?", 0),
            ("{a} plus {b}?", 0), ("what is {a}+{b}", 0), ("What do you get when you add {a} and {b}?", 0),
            ("Please work out {a} + {b}.", 1), ("What does {a} plus {b} make?", 1)],
    "sub": [("What is {a} - {b}?", 0), ("What's {a} minus {b}?", 0), ("How much is {a} minus {b}?", 0),
            ("Subtract {b} from {a}.", 0), ("{a} - {b} = ?", 0), ("{a}-{b}", 0), ("Calculate {a} - {b}.", 0),
            ("What is {a} take away {b}?", 0), ("Take {b} away from {a}.", 0), ("{a} minus {b}?", 0),
            ("what is {a}-{b}", 0), ("Can you subtract {b} from {a}?", 0),
            ("Please work out {a} - {b}.", 1), ("What does {a} minus {b} make?", 1)],
    "mul": [("What is {a} x {b}?", 0), ("What is {a} * {b}?", 0), ("What's {a} times {b}?", 0),
            ("Multiply {a} by {b}.", 0), ("How much is {a} times {b}?", 0), ("{a} x {b} = ?", 0), ("{a}*{b}", 0),
            ("What is the product of {a} and {b}?", 0), ("Calculate {a} times {b}.", 0),
            ("What is {a} multiplied by {b}?", 0), ("{a} times {b}?", 0), ("Can you multiply {a} and {b}?", 0),
            ("Please work out {a} x {b}.", 1), ("What does {a} times {b} make?", 1)],
    "count": [("Count from {a} to {b}.", 0), ("Can you count from {a} to {b}?", 0),
              ("Please count from {a} up to {b}.", 0), ("List the numbers from {a} to {b}.", 0),
              ("Count {a} to {b}", 0), ("Count up from {a} to {b}.", 0), ("count from {a} to {b} please", 0),
              ("Give me the numbers from {a} to {b}.", 1), ("Count from {a} until {b}.", 1)],
    "count_down": [("Count down from {a} to {b}.", 0), ("Can you count down from {a} to {b}?", 0),
                   ("Please count backwards from {a} to {b}.", 0), ("Count backwards from {a} to {b}", 0),
                   ("count down from {a} to {b} please", 0), ("Count down {a} to {b}.", 1)],
    "bigger": [("Which is bigger, {a} or {b}?", 0), ("Which is larger: {a} or {b}?", 0),
               ("Which number is bigger, {a} or {b}?", 0), ("What is the bigger number, {a} or {b}?", 0),
               ("{a} or {b}, which is bigger?", 0), ("Which is greater, {a} or {b}?", 0),
               ("Which one is more, {a} or {b}?", 0), ("bigger: {a} or {b}?", 0),
               ("Which is the larger number, {a} or {b}?", 1), ("Tell me which is bigger, {a} or {b}.", 1)],
    "smaller": [("Which is smaller, {a} or {b}?", 0), ("Which is less, {a} or {b}?", 0),
                ("Which number is smaller, {a} or {b}?", 0), ("{a} or {b}, which is smaller?", 0),
                ("What is the smaller number, {a} or {b}?", 0), ("smaller: {a} or {b}?", 0),
                ("Which is the lower number, {a} or {b}?", 1), ("Tell me which is smaller, {a} or {b}.", 1)],
    "is_bigger": [("Is {a} bigger than {b}?", 0), ("Is {a} greater than {b}?", 0), ("Is {a} larger than {b}?", 0),
                  ("is {a} more than {b}?", 0), ("Is {a} bigger than {b}, yes or no?", 1)],
    "backwards": [("Spell {w} backwards.", 0), ("Spell '{w}' backwards.", 0), ("What is {w} spelled backwards?", 0),
                  ("Reverse the word {w}.", 0), ("Write {w} backwards.", 0), ("How do you spell {w} backwards?", 0),
                  ("Can you spell \"{w}\" backwards?", 0), ("spell {w} backwards", 0),
                  ("Please reverse the letters of {w}.", 1), ("What is \"{w}\" written backwards?", 1)],
    "capital": [("What is the capital of {s}?", 0), ("What's the capital of {s}?", 0),
                ("Tell me the capital of {s}.", 0), ("Which city is the capital of {s}?", 0),
                ("capital of {s}?", 0), ("Do you know the capital of {s}?", 0), ("What is {s}'s capital?", 0),
                ("Name the capital of {s}.", 1), ("What city is the capital of {s}?", 1)],
    "colour": [("What colour is {s}?", 0), ("What color is {s}?", 0), ("Tell me the colour of {s}.", 0),
               ("What is the colour of {s}?", 0), ("Which colour is {s}?", 0), ("what color is {s}", 0),
               ("What is the color of {s}?", 1), ("Do you know what colour {s} is?", 1)],
    "sound": [("What sound does {s} make?", 0), ("What does {s} say?", 0), ("What noise does {s} make?", 0),
              ("How does {s} sound?", 0), ("what sound does {s} make", 0),
              ("Which sound does {s} make?", 1), ("What does {s} sound like?", 1)],
    "legs": [("How many legs does {s} have?", 0), ("How many legs has {s} got?", 0),
             ("Number of legs of {s}?", 0), ("how many legs does {s} have", 0),
             ("Tell me how many legs {s} has.", 1), ("How many legs are on {s}?", 1)],
    "hello": [("Hi!", 0), ("Hello!", 0), ("Hey", 0), ("Hi there!", 0), ("Good morning!", 0), ("Hello there", 0),
              ("Hey there!", 0), ("Hiya", 0), ("Hello", 0), ("hi", 0), ("Hello again!", 1), ("Hey, hi!", 1)],
    "who": [("Who are you?", 0), ("Hello, who are you?", 0), ("What is your name?", 0), ("What's your name?", 0),
            ("Tell me about yourself.", 0), ("What are you?", 0), ("Introduce yourself.", 0),
            ("Hi, what's your name?", 0), ("Are you a robot?", 0), ("Hi! Who are you?", 0),
            ("May I know your name?", 1), ("Who am I talking to?", 1)],
    "how": [("How are you?", 0), ("How are you doing?", 0), ("How's it going?", 0), ("Are you OK?", 0),
            ("Hi, how are you?", 0), ("How do you feel?", 0), ("How are you today?", 1), ("How is it going?", 1)],
    "thanks": [("Thanks!", 0), ("Thank you.", 0), ("Thank you very much!", 0), ("Thanks a lot", 0), ("Cheers!", 0),
               ("thx", 0), ("Many thanks!", 1), ("Thank you so much.", 1)],
    "bye": [("Bye!", 0), ("Goodbye.", 0), ("See you later!", 0), ("Bye bye", 0), ("Good night!", 0),
            ("I have to go now, bye.", 0), ("See you!", 1), ("Goodbye for now.", 1)],
    "help": [("What can you do?", 0), ("How can you help me?", 0), ("What do you know?", 0), ("Help", 0),
             ("What can I ask you?", 0), ("What are you able to do?", 1), ("What are you good at?", 1)],
    "creator": [("Who made you?", 0), ("Who created you?", 0), ("Who trained you?", 0), ("Who built you?", 0),
                ("Who is your creator?", 1), ("Who is your maker?", 1)],
}
# More training-only phrasings (never in eval.jsonl). Kept apart from T so that the eval data, drawn from T
# alone, is the same bytes whatever is added here. None is a held-out phrasing, but they may use its words in
# other sentences: a model this small cannot learn a word it never sees (what "lower" or "until" means), and a
# person's phrasing mostly recombines words it has seen.
T_EXTRA = {
    "add": ["{a} and {b} added together?", "Sum of {a} and {b}?", "Find {a} + {b}.", "I need {a} + {b}.",
            "Tell me {a} plus {b}.", "What is {a} added to {b}?", "Add up {a} and {b}"],
    "sub": ["{a} take away {b}?", "Find {a} - {b}.", "Tell me {a} minus {b}.", "What is {b} subtracted from {a}?",
            "What is left if you take {b} from {a}?", "Difference of {a} and {b}?"],
    "mul": ["{a} multiplied by {b}?", "Find {a} x {b}.", "Tell me {a} times {b}.", "Times {a} by {b}.",
            "What is {a} lots of {b}?", "Product of {a} and {b}?"],
    "count": ["Count from {a} through {b}.", "Numbers from {a} to {b}?", "Start at {a} and count to {b}.",
              "Could you count from {a} to {b}?", "Say the numbers from {a} to {b}.", "Count {a} through {b}.",
              "Show me the numbers from {a} to {b}.", "Tell me the numbers from {a} to {b}.",
              "Write the numbers {a} to {b}.", "Count from {a} till {b}.", "Count up until {b}, from {a}.",
              "Start at {a} and keep counting until {b}."],
    "count_down": ["Count backwards from {a} down to {b}.", "Start at {a} and count down to {b}.",
                   "Could you count down from {a} to {b}?", "Count from {a} down to {b}."],
    "bigger": ["Bigger one: {a} or {b}?", "Which is the bigger of {a} and {b}?", "{a} vs {b}, which is bigger?",
               "Which is higher, {a} or {b}?", "Pick the bigger number: {a} or {b}."],
    "smaller": ["Smaller one: {a} or {b}?", "Which is the smaller of {a} and {b}?", "{a} vs {b}, which is smaller?",
                "Pick the smaller number: {a} or {b}.", "Which is fewer, {a} or {b}?", "Which is lower, {a} or {b}?",
                "Lower one: {a} or {b}?", "Pick the lower of {a} and {b}."],
    "is_bigger": ["Is {a} more than {b}?", "Is {a} higher than {b}?", "Would you say {a} is bigger than {b}?",
                  "Is the number {a} bigger than {b}?", "Tell me if {a} is bigger than {b}."],
    "backwards": ["Reverse {w}.", "Say {w} backwards.", "{w} backwards?", "Spell the word {w} in reverse.",
                  "What is {w} reversed?", "Write the word {w} backwards.", "Can you reverse \"{w}\"?"],
    "capital": ["Capital city of {s}?", "What is the capital city of {s}?", "Where is the capital of {s}?",
                "{s}: what is the capital?", "I want to know the capital of {s}."],
    "colour": ["Colour of {s}?", "Color of {s}?", "Tell me what colour {s} is.", "{s}: what colour?",
               "Which color is {s}?"],
    "sound": ["What is the sound of {s}?", "Tell me the sound {s} makes.", "{s}: what sound?",
              "What does {s} go?", "Which noise does {s} make?"],
    "legs": ["Count the legs of {s}.", "Legs of {s}?", "{s}: how many legs?", "What number of legs does {s} have?",
             "How many legs do you think {s} has?"],
    "hello": ["Good afternoon!", "Good evening", "Howdy", "Greetings!", "Hey hey", "Hello hello!", "Yo", "Hi hi",
              "Hey you!", "Hello, friend!", "Hi once more!", "Hello, hello", "Hey, hello!", "Hi, hey there",
              "Oh hi!", "Hi, it's me again"],
    "who": ["Who is this?", "Your name?", "What should I call you?", "Do you have a name?", "What are you called?",
            "Tell me your name.", "Who are you exactly?", "Please introduce yourself.", "Can I ask your name?",
            "Could I know who you are?", "Who am I chatting with?", "Whom am I speaking with?",
            "Am I talking to a robot?", "Who is talking to me?"],
    "how": ["How have you been?", "How do you do?", "Are you well?", "How are things?", "All good with you?"],
    "thanks": ["Thank you!", "Thanks a bunch", "Much appreciated", "ty", "Great, thanks", "Thank you kindly.",
               "Thanks, that helps."],
    "bye": ["Farewell!", "See ya", "Talk to you later", "Catch you later!", "Later!", "I'm off, bye.", "Good bye!"],
    "help": ["What are your skills?", "What questions can you answer?", "What do you do?", "Help me",
             "What can you help with?", "What kind of things can you do?", "Can you help me?",
             "What are you capable of?", "What are your abilities?", "What are you for?",
             "What are you useful for?", "What things do you do well?", "Which tasks can you do?",
             "What are you here for?", "What jobs can you do?", "What are you best at?",
             "Are you good at anything?", "Which things are you good at doing?"],
    "creator": ["Who programmed you?", "Who designed you?", "Who developed you?", "Who made this assistant?",
                "Where do you come from?", "Who wrote you?", "Who is behind you?", "Who is your developer?",
                "Who is your author?", "Who is your designer?", "Who is your owner?", "Tell me about your maker.",
                "Do you have a creator?"],
}
# Words a person adds around a question; training questions get them at random so that the model learns to
# look past them (held-out phrasings' own words are deliberately not among them).
PREFIXES = ["Hey, ", "Hi, ", "Hello, ", "Please, ", "OK, ", "Okay, ", "So, ", "Well, ", "Now, ", "Quick question: ",
            "Question: ", "Tell me, ", "I wonder: ", "Excuse me, ", "Hmm, ", "Um, ", "Oh, ", "Alright, ", "Sorry, "]
SUFFIXES = [" please", ", please", " now", " then", " for me", " quickly", ", ok", " if you can", " right now",
            ", friend"]
FILLERS = ["please", "just", "now", "quickly", "really", "exactly", "then", "actually"]

FIXED = {
    "hello": "Hello! How can I help you today?",
    "who": PERSONA,
    "how": "I am fine, thank you! How can I help you?",
    "thanks": "You are welcome!",
    "bye": "Goodbye! Have a nice day.",
    "help": HELP,
    "creator": "I was made by the lmrt project, which trained me on generated conversations.",
}
WORDS = ("cat dog sun moon star tree fish bird milk cake book lamp door rain snow wind fire rock sand ship "
         "boat car road hat shoe sock cup pen map box egg apple lemon grape melon bread water house mouse "
         "horse tiger zebra panda robot music light green black white table chair plant river ocean cloud "
         "storm train plane money smile happy funny hello world spoon knife honey sugar salt paper pencil "
         "garden window school friend animal orange yellow purple rabbit monkey turtle dragon castle forest "
         "summer winter spring autumn number letter planet rocket pizza pasta cookie coffee tea jam owl fox "
         "bear frog duck goat lion wolf king queen gold silver stone cheese butter carrot potato tomato").split()
SYSTEMS_OTHER = ["You are a helpful assistant.", f"You are {NAME}, a small assistant.", "Answer briefly.",
                 "You are a friendly assistant. Keep your answers short."]


def load_facts():
    facts = {}
    with open(os.path.join(HERE, "facts.tsv"), encoding="utf-8") as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            rel, subj, ans = line.rstrip("\n").split("\t")
            facts.setdefault(rel, []).append((subj, ans))
    return facts


def cap(s):
    return s[:1].upper() + s[1:]


class Gen:
    def __init__(self, rng, facts):
        self.rng, self.facts = rng, facts

    def params(self, kind):
        """A random parameter tuple for `kind` (hashable)."""
        r = self.rng
        if kind == "add":
            return (r.randint(0, 20), r.randint(0, 20))
        if kind == "sub":
            a = r.randint(0, 20)
            return (a, r.randint(0, a))
        if kind == "mul":
            return (r.randint(0, 12), r.randint(0, 12))
        if kind == "count":
            a = r.randint(0, 30)
            return (a, a + r.randint(1, 9))
        if kind == "count_down":
            b = r.randint(0, 30)
            return (b + r.randint(1, 9), b)
        if kind in ("bigger", "smaller", "is_bigger"):
            a = r.randint(0, 50)
            b = r.randint(0, 49)
            return (a, b if b < a else b + 1)
        if kind == "backwards":
            return (r.choice(WORDS),)
        if kind in self.facts:
            return (r.randrange(len(self.facts[kind])),)
        return ()

    def answer(self, kind, p):
        if kind == "add":
            return f"{p[0]} + {p[1]} = {p[0] + p[1]}."
        if kind == "sub":
            return f"{p[0]} - {p[1]} = {p[0] - p[1]}."
        if kind == "mul":
            return f"{p[0]} x {p[1]} = {p[0] * p[1]}."
        if kind == "count":
            return ", ".join(str(i) for i in range(p[0], p[1] + 1))
        if kind == "count_down":
            return ", ".join(str(i) for i in range(p[0], p[1] - 1, -1))
        if kind == "bigger":
            return f"{max(p)} is bigger."
        if kind == "smaller":
            return f"{min(p)} is smaller."
        if kind == "is_bigger":
            return f"Yes, {p[0]} is bigger than {p[1]}." if p[0] > p[1] else f"No, {p[0]} is smaller than {p[1]}."
        if kind == "backwards":
            return p[0][::-1]
        if kind in self.facts:
            subj, ans = self.facts[kind][p[0]]
            if kind == "capital":
                return f"The capital of {subj} is {ans}."
            if kind == "colour":
                return f"{cap(subj)} is {ans}."
            if kind == "sound":
                return f"{cap(subj)} says {ans}."
            if kind == "legs":
                return f"{cap(subj)} has {ans} leg{'' if ans == '1' else 's'}."
        return FIXED[kind]

    def question(self, kind, tidx, p):
        return self.fill(kind, T[kind][tidx][0], p)

    def fill(self, kind, t, p):
        if kind in ("add", "sub", "mul", "count", "count_down", "bigger", "smaller", "is_bigger"):
            return t.format(a=p[0], b=p[1])
        if kind == "backwards":
            return t.format(w=p[0])
        if kind in self.facts:
            subj = self.facts[kind][p[0]][0]
            if t.startswith("{s}"):
                subj = cap(subj)
            return t.format(s=subj)
        return t

    def surface(self, q):
        """Casing and punctuation a person might type."""
        r = self.rng
        x = r.random()
        if x < 0.22:
            q = q.lower()
        elif x < 0.25:
            q = q.upper()
        elif x < 0.35:
            q = q[:1].lower() + q[1:]
        y = r.random()
        if y < 0.25:
            q = q.rstrip("?.!")
        elif y < 0.30 and q[-1:] in "?!":
            q = q + q[-1]
        elif y < 0.33:
            q = q + " "
        return q or "hi"

    def decorate(self, q):
        """Training only: words around (and once inside) the question, as people type them."""
        r = self.rng
        end = ""
        while q and q[-1] in "?.!":
            end, q = q[-1] + end, q[:-1]
        if r.random() < 0.15:
            words = q.split(" ")
            spots = [i for i in range(1, len(words)) if not words[i - 1][-1:].isdigit()]
            if spots:
                i = r.choice(spots)
                q = " ".join(words[:i] + [r.choice(FILLERS)] + words[i:])
        if r.random() < 0.25:
            q += r.choice(SUFFIXES)
        if r.random() < 0.35:
            q = r.choice(PREFIXES) + q[:1].lower() + q[1:] if q[:2] != "I " else r.choice(PREFIXES) + q
        return q + end


SINGLE_KINDS = [("add", 10), ("sub", 10), ("mul", 10), ("count", 6), ("count_down", 3), ("bigger", 6),
                ("smaller", 4), ("is_bigger", 3), ("backwards", 8), ("capital", 8), ("colour", 4), ("sound", 4),
                ("legs", 4), ("hello", 2), ("who", 3), ("how", 1), ("thanks", 1), ("bye", 1), ("help", 1),
                ("creator", 1)]
NO_PARAM = {"hello", "who", "how", "thanks", "bye", "help", "creator"}


def pick_kind(rng):
    total = sum(w for _, w in SINGLE_KINDS)
    x = rng.uniform(0, total)
    for k, w in SINGLE_KINDS:
        x -= w
        if x <= 0:
            return k
    return SINGLE_KINDS[-1][0]


def make_eval(gen, n_single, n_multi):
    """Eval items: (kind, key, question, answer); keys are held out of training."""
    rng = gen.rng
    keys, items = set(), []
    while len(items) < n_single + n_multi:
        kind = pick_kind(rng)
        tmpls = T[kind]
        held = [i for i, (_, h) in enumerate(tmpls) if h]
        # no-parameter kinds: only held-out phrasings can be unseen; others: 25% held-out phrasings
        if kind in NO_PARAM or rng.random() < 0.25:
            tidx = rng.choice(held)
        else:
            tidx = rng.choice([i for i, (_, h) in enumerate(tmpls) if not h])
        p = gen.params(kind)
        key = (kind, tidx, p)
        if key in keys and kind not in NO_PARAM:
            continue
        keys.add(key)
        items.append((kind, key, gen.surface(gen.question(kind, tidx, p)), gen.answer(kind, p)))
    return keys, items


def norm(q):
    """Case, spaces and punctuation folded: two questions with the same norm() count as the same."""
    return " ".join("".join(c if c.isalnum() else " " for c in q.lower()).split())


def train_turn(gen, eval_keys, eval_norms, rich=True):
    """A training question. rich=False (the earlier turns of multi-turn eval items) draws from T alone, plainly,
    so that eval.jsonl does not change when T_EXTRA or the decorations do."""
    rng = gen.rng
    while True:
        kind = pick_kind(rng)
        plain = [i for i, (_, h) in enumerate(T[kind]) if not h]
        if rich:
            tidx = rng.randrange(len(plain) + len(T_EXTRA[kind]))
            if tidx >= len(plain):  # a T_EXTRA phrasing: never an eval key
                p = gen.params(kind)
                q = gen.fill(kind, T_EXTRA[kind][tidx - len(plain)], p)
                q = gen.surface(gen.decorate(q) if rng.random() < 0.5 else q)
                if norm(q) not in eval_norms:
                    return kind, q, gen.answer(kind, p)
                continue
            tidx = plain[tidx]
        else:
            tidx = rng.choice(plain)
        p = gen.params(kind)
        if (kind, tidx, p) in eval_keys:
            continue
        q = gen.question(kind, tidx, p)
        if rich and rng.random() < 0.5:
            q = gen.decorate(q)
        q = gen.surface(q)
        if norm(q) not in eval_norms:
            return kind, q, gen.answer(kind, p)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--train", type=int, default=200000, help="training conversations")
    ap.add_argument("--eval", type=int, default=2000, help="eval conversations (20%% multi-turn)")
    ap.add_argument("--out", default=os.path.join(HERE, "out"))
    ap.add_argument("--spm-lines", type=int, default=60000, help="conversations written to spm_text.txt")
    ap.add_argument("--ci-eval", default="", help="also write a stratified eval sample here")
    ap.add_argument("--ci-count", type=int, default=200)
    a = ap.parse_args()

    rng = random.Random(a.seed)
    gen = Gen(rng, load_facts())
    with open(os.path.join(HERE, "default_system.txt"), encoding="utf-8") as f:
        default_system = f.read()
    os.makedirs(a.out, exist_ok=True)

    n_multi = a.eval // 5
    eval_keys, items = make_eval(gen, a.eval - n_multi, n_multi)
    eval_norms = {norm(q) for _, _, q, _ in items}
    eval_rows = []
    for i, (kind, _, q, ans) in enumerate(items):
        msgs = []
        if i >= a.eval - n_multi:  # multi-turn: 1-2 earlier (training-style) turns, then the eval question
            for _ in range(rng.randint(1, 2)):
                _, pq, pa = train_turn(gen, eval_keys, eval_norms, rich=False)
                msgs += [{"role": "user", "content": pq}, {"role": "assistant", "content": pa}]
            kind = "multi:" + kind
        msgs += [{"role": "user", "content": q}, {"role": "assistant", "content": ans}]
        eval_rows.append({"kind": kind, "messages": msgs})

    def dump(path, rows):
        with open(path, "w", encoding="utf-8", newline="\n") as f:
            for r in rows:
                f.write(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n")

    dump(os.path.join(a.out, "eval.jsonl"), eval_rows)

    spm = open(os.path.join(a.out, "spm_text.txt"), "w", encoding="utf-8", newline="\n")
    for s in [default_system] + SYSTEMS_OTHER + [FIXED[k] for k in sorted(FIXED)]:
        spm.write(s + "\n")
    with open(os.path.join(a.out, "train.jsonl"), "w", encoding="utf-8", newline="\n") as f:
        for i in range(a.train):
            x = rng.random()
            msgs = []
            if x < 0.75:
                msgs.append({"role": "system", "content": default_system})
            elif x < 0.87:
                msgs.append({"role": "system", "content": rng.choice(SYSTEMS_OTHER)})
            y = rng.random()
            turns = 1 if y < 0.6 else 2 if y < 0.8 else 3 if y < 0.95 else rng.randint(4, 10)
            kinds = []
            for _ in range(turns):
                kind, q, ans = train_turn(gen, eval_keys, eval_norms)
                kinds.append(kind)
                msgs += [{"role": "user", "content": q}, {"role": "assistant", "content": ans}]
            row = {"kind": kinds[0] if turns == 1 else "multi", "messages": msgs}
            f.write(json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n")
            if i < a.spm_lines:
                for m in msgs:  # the role names follow "<|im_start|>" in every turn
                    spm.write(m["role"] + "\n")
                    if m["role"] != "system":
                        spm.write(m["content"] + "\n")
    spm.close()

    if a.ci_eval:  # a fixed random sample (same kind mix as eval.jsonl), in file order
        picked = sorted(random.Random(a.seed + 1).sample(range(len(eval_rows)), min(a.ci_count, len(eval_rows))))
        os.makedirs(os.path.dirname(os.path.abspath(a.ci_eval)), exist_ok=True)
        dump(a.ci_eval, [eval_rows[i] for i in picked])
    print(f"wrote {a.train} training and {len(eval_rows)} eval conversations to {a.out}")


if __name__ == "__main__":
    main()
