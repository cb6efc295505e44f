from inferhouse.cli import main

main()
