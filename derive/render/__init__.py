"""Stage 6, the rendering: LaTeX in a course's notation (`latex`), TikZ graphs and figures, latexify
pseudo-code (`codegen`), notes, slides and the book (`documents`), the build and its atomic publishing."""
