"""The double-random inspections (双随机、一公开): the draw, the departments' lists and forms, working days."""
