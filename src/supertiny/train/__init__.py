"""Knowledge transfer into the student: thin layers over trl's trainers."""
