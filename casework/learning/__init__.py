"""Learning and improvement after a review: action plans with named leads, their reminders, the
6-month review of impact, the learning summary, dissemination and the learning and improvement index."""
