"""Session fixtures that start the Twilio (Prism) and Telegram (telegram-test-api) emulators."""
