"""The yardstick `intents eval` prints beside the matcher: a character n-gram TF-IDF and
logistic regression classifier, trained in a few lines of scikit-learn on the same examples,
as anyone would build first. If the matcher is not clearly better, its extra parts do not
earn their place. A maintainers' tool: the service never imports this."""

from __future__ import annotations

from bot.content.load import OUT_OF_SCOPE, Content


class Yardstick:
    def __init__(self, content: Content):
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline

        texts, labels = [], []
        for intent in content.intents.values():
            for examples in intent.examples.values():
                texts += examples
                labels += [intent.id] * len(examples)
        self.model = make_pipeline(TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True),
                                   LogisticRegression(max_iter=1000))
        self.model.fit(texts, labels)

    def predict(self, text: str) -> str | None:
        intent = str(self.model.predict([text])[0])
        return None if intent == OUT_OF_SCOPE else intent
