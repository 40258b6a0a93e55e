from distillshield.cli import main

main()
