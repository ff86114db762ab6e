"""The graded subject's side: objections, repair applications and the letters to subjects."""
