"""Editor support for .flow files: a Pygments lexer and a TextMate grammar."""
