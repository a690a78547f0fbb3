"""Regenerate ``kb/domain_terms.txt``: the words of the field, whether or not the knowledge base uses them.

The abstention model counts the question's words that belong to the field (Keras, TensorFlow, NLP)
but that no entry contains: a student asking about a CRF layer or GloVe vectors asks about something
real that the course does not cover, and should hear "not covered" rather than the nearest entry. (A
word an entry mentions in passing, such as ``causal`` or ``mask_zero``, is seen and does not count.) The list is data: the public names of the installed Keras (layers, losses, metrics,
optimizers, callbacks, activations, initializers, regularizers, applications, utilities), the
arguments of its layers that are spelled with an underscore (``recurrent_dropout``, ``mask_zero``),
and the glossaries below (English, and Korean as the tokenizer cuts it). Run ``python scripts/domain_terms.py`` after upgrading Keras or editing the
glossary (``--check`` only compares); the file is committed, so asking a question never imports Keras.
"""

from __future__ import annotations

import inspect
import re
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "kb" / "domain_terms.txt"
MODULES = ("layers", "losses", "metrics", "optimizers", "callbacks", "activations", "initializers",
           "regularizers", "constraints", "applications", "utils", "preprocessing", "mixed_precision",
           "saving", "datasets", "models")
# General deep-learning and NLP terms Keras does not name (lower case, one token each as the
# tokenizer splits Latin words: letters and digits, with an underscore kept whole).
GLOSSARY = """
accuracy activation adagrad adam adamw adapter alignment annotation anomaly argmax attention autoencoder
autograd autoregressive backprop backpropagation bahdanau bart batchnorm bayesian beam bert bigram bleu
bpe byte captioning categorical causal checkpoint chunking classifier clipping cnn coco collate
contrastive convolution corpus cosine crf crossentropy cudnn curriculum dataloader dataset decoder
deepspeed denoising dependency diffusion dilation distillation docker downsampling dropout elmo
embedding encoder ensemble entropy epoch epochs estimator f1 faiss fasttext feedforward finetune
finetuning fine_tuning fold gan gaussian gelu generative glove gpt gpu gradient gradients gru
hallucination heatmap huggingface hyperparameter hyperparameters imagenet imbalance inference
keras kfold kl knn kobert konlpy kogpt kss label labels langchain latent layernorm lemmatization
lemmatizer lexicon llm llama lora loss lstm luong mecab mlm mlp mixup momentum morpheme multihead
multilabel nadam ner ngram nlp nltk normalization okt onnx optimizer optuna overfitting padding
perplexity pipeline pooling pos pretrained pretraining precision prompt pruning pytorch quantization
quantize rag recall recurrent regularization reinforcement relu reranker residual resnet rmsprop rnn
roberta rouge sampler scheduler seq2seq sentencepiece sgd sigmoid siamese skipgram smote softmax
spacy stemming stopwords subword summarization svm tagger tagging teacher tensorboard tensorflow
tf tfidf tflite tfrecord tokenizer tokenization tokenizers tpu transformer transformers translation
triplet tsne umap underfitting unigram upsampling vae validation vectorizer vgg vit vocab vocabulary
warmup weights word2vec wordpiece xgboost xla yolo
augmentation augment bucketing decay deploy deployment from_logits greedy h5 hdf5 keras_tuner kerastuner
learning_rate logits lr mask positional prefetch ragged savedmodel schedule serving stopping temperature
tuner
"""
# The same in Korean, each written as the tokenizer keeps it (one morpheme: kiwi cuts 학습률 to 학습,
# so rates and suffixed words are not listed); checked against the tokenizer when the file is made.
KOREAN_GLOSSARY = """
어텐션 트랜스포머 인코더 디코더 포지셔널 토크나이저 형태소 불용어 표제어 워드피스 말뭉치 코퍼스 서브
파인튜닝 지식증류 증류 양자 가지치기 프루닝 스케줄러 옵티마이저 모멘텀 그래디언트 경사하강법 클리핑 기울기
소실 배치정규화 레이어정규화 얼리스토핑 콜백 텐서보드 하이퍼 케라스튜너 옵튜나 그리드서치 과소적합 증강
가중치감쇠 정밀도 정확도 혼동행렬 크로스엔트로피 교차엔트로피 로짓 라벨스무딩 레이블스무딩 워드투벡 글로브
패스트텍스트 버트 엘모 챗봇 품사태깅 빔서치 그리디 디코딩 퍼플렉서티 배포 서빙 온닉스 텐서플로라이트
멀티지피유 프리페치 마스킹 마스크 샘플링 오토인코더 변분 세그멘테이션 잔차 스킵 커넥션 레즈넷 객체 탐지
음성 스펙트로그램 히트맵 번역기 임베딩모델 허깅페이스 프롬프트 할루시네이션 크롤링 어노테이션 앙상블
랜덤포레스트 서포트벡터 로지스틱회귀 군집 티스니
"""
# Public Keras names that are everyday English as well: not evidence of a question about the field.
COMMON = {"add", "average", "circle", "config", "dot", "get", "history", "image", "input", "legacy", "linear",
          "maximum", "mean", "minimum", "model", "ones", "policy", "sum", "wrapper", "zeros"}
WORD = re.compile(r"^[a-z][a-z0-9_]*$")


def keras_terms() -> set[str]:
    import keras

    terms: set[str] = set()
    for name in MODULES:
        module = getattr(keras, name, None)
        if module is None:
            continue
        for public in dir(module):
            if public.startswith("_"):
                continue
            terms.add(public.lower())
            obj = getattr(module, public, None)
            if name == "layers" and inspect.isclass(obj):
                try:
                    params = inspect.signature(obj.__init__).parameters
                except (TypeError, ValueError):
                    continue
                terms.update(p.lower() for p in params if "_" in p.strip("_"))
    return terms


def korean_terms() -> set[str]:
    """The Korean glossary, refusing a word the tokenizer would not keep whole (it could never match)."""
    sys.path.insert(0, str(OUT.parent.parent))
    from ingest.tokens import tokenize

    words = set(KOREAN_GLOSSARY.split())
    split = sorted(w for w in words if w not in tokenize(w, "kiwi"))
    if split:
        raise SystemExit(f"the tokenizer does not keep these Korean glossary words whole: {' '.join(split)}")
    return words


def render() -> str:
    terms = {t for t in keras_terms() | set(GLOSSARY.split()) if WORD.match(t) and len(t) > 1 and t not in COMMON}
    terms |= korean_terms()
    return ("# Generated by scripts/domain_terms.py: words of the field (see its docstring).\n"
            + "\n".join(sorted(terms)) + "\n")


def main(argv: list[str]) -> int:
    text = render()
    if "--check" in argv:
        if OUT.read_text(encoding="utf-8") != text:
            print(f"{OUT} is out of date: run python scripts/domain_terms.py")
            return 1
        return 0
    OUT.write_text(text, encoding="utf-8")
    print(f"{text.count(chr(10)) - 1} terms -> {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
